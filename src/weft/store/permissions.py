"""The embedded database is private to the user running Weft: file 0600, data directory 0700.

The SQLite file holds credential hashes, encrypted connection secrets and every run's data; a
world-readable file (the umask's usual 0644) lets any local user copy it. SQLite gives its -wal
and -shm files the main file's mode, so securing the main file before first use covers them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sqlalchemy.engine import make_url

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def secure_directory(path: Path) -> None:
    """Create `path` (and parents) if missing, and make it private to this user."""
    path.mkdir(parents=True, exist_ok=True, mode=DIRECTORY_MODE)
    os.chmod(path, DIRECTORY_MODE)


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names, or None (PostgreSQL, in-memory SQLite)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def secure_sqlite_file(url: str) -> None:
    """Before SQLite opens it: the database file exists with mode 0600 (as do its WAL files),
    and a directory created for it is 0700."""
    path = sqlite_path(url)
    if path is None:
        return
    if not path.parent.exists():
        secure_directory(path.parent)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE)
    os.close(descriptor)
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(companion, FILE_MODE)
