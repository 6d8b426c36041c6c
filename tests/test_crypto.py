"""weft.crypto: AES-GCM sealing with one key per purpose, bound to each row's context."""

from __future__ import annotations

from pathlib import Path

import pytest

from weft.crypto import KEY_FILE, SecretBox, SecretUnreadable
from weft.settings import Settings

pytestmark = pytest.mark.unit


def settings_in(tmp_path: Path, secret_key: str | None = None) -> Settings:
    return Settings(data_dir=tmp_path, secret_key=secret_key)


def test_sealed_secret_opens_only_with_its_purpose_and_context(tmp_path: Path) -> None:
    settings = settings_in(tmp_path, "deployment secret")
    box = SecretBox.from_settings(settings, purpose=b"feature one")
    sealed = box.seal("s3cret", context="row-1")
    assert "s3cret" not in sealed
    assert box.open(sealed, context="row-1") == "s3cret"
    with pytest.raises(SecretUnreadable):
        box.open(sealed, context="row-2")
    with pytest.raises(SecretUnreadable):
        SecretBox.from_settings(settings, purpose=b"feature two").open(sealed, context="row-1")


def test_without_a_configured_key_one_is_generated_once_into_the_data_dir(tmp_path: Path) -> None:
    first = SecretBox.from_settings(settings_in(tmp_path), purpose=b"p")
    sealed = first.seal("value", context="c")
    again = SecretBox.from_settings(settings_in(tmp_path), purpose=b"p")
    assert again.open(sealed, context="c") == "value"
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
