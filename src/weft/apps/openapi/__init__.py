"""Importing an app from an OpenAPI 3.0/3.1 document: parse, validate, resolve, derive.

`import_document` is the entry point; `diff_definitions` compares a re-import with what was
there. Nothing here touches the database (see `apps/imports.py`).
"""

from weft.apps.openapi.derive import Derived, Pick, derive_app, import_document
from weft.apps.openapi.diff import DefinitionDiff, diff_definitions
from weft.apps.openapi.loading import MAX_DOCUMENT_BYTES, InvalidDocument, parse_document

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "DefinitionDiff",
    "Derived",
    "InvalidDocument",
    "Pick",
    "derive_app",
    "diff_definitions",
    "import_document",
    "parse_document",
]
