"""Weft's source files parsed once per test process: the tests that scan the tree for a rule
(layering, type names, dialect branches, the expression scope) each parsed all of it (~0.8 s)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path


@functools.cache
def parsed(path: Path) -> ast.Module:
    """The syntax tree of one file; shared, so a test must not change it."""
    return ast.parse(path.read_text(), str(path))
