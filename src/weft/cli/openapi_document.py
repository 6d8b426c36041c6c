"""The API's OpenAPI document, as `/openapi.json` serves it, built without a server or database.

`python -m weft.cli.openapi_document OUT` writes it to OUT (`make api-types` generates the
editor's types, ui/src/api/schema.d.ts, from it); the Schemathesis contract test fuzzes it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from weft.app import create_app
from weft.settings import Settings


def openapi_document() -> dict[str, Any]:
    """The document of an app that never connects (it does not depend on the database)."""
    with tempfile.TemporaryDirectory(prefix="weft-openapi-") as data_dir:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{data_dir}/unused.db", data_dir=data_dir
        )
        return create_app(settings).openapi()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m weft.cli.openapi_document OUT.json", file=sys.stderr)
        return 2
    # Sorted keys: the file, and the types made from it, change only when the API does.
    text = json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False)
    Path(argv[0]).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
