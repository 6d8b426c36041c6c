"""The regex engine behind JSONata's `/pattern/flags` literals: RE2, linear in its input.

Python's `re` backtracks: `/(a+)+$/` on thirty characters runs for minutes and, being C code
holding the GIL, cannot be interrupted. RE2 guarantees time linear in the subject, at the cost of
backreferences and lookaround, which an expression then reports as a syntax error.
"""

from __future__ import annotations

import re2
from jsonata.regex_engine import CompiledPattern, RegexFlags


def re2_engine(pattern: str, flags: RegexFlags) -> CompiledPattern:
    """Compile a JSONata regex literal with RE2 (flags as inline modifiers)."""
    modifiers = ("i" if flags.case_insensitive else "") + ("m" if flags.multiline else "")
    try:
        return re2.compile(f"(?{modifiers}){pattern}" if modifiers else pattern)
    except re2.error as error:
        raise ValueError(f"unsupported regular expression /{pattern}/: {error}") from error
