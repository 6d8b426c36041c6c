"""Input caps on JSONata builtins that run as one C call, which no time limit can interrupt.

The evaluation threads' watchdog interrupts Python bytecode, not a C call in progress, and a C
call holds the GIL, so every thread of the process (the event loop among them) stalls until it
returns. Measured before these caps (2-core machine): `[1..10000000]` fed to `$count`, `$sum` or
`$reverse` stalled the event loop 1.0-1.5 s, `$string([1..3000000])` 1.1 s and
`$pad("", 100000000, "€")` 0.5 s, the latter taking the process's RSS from 217 to 598 MB. The
range operator and `$pad` are where one short expression makes data out of nothing; with these
caps the longest C call an expression can make on what it built itself takes milliseconds.
What an expression reads from its context is bounded by the size limits of payloads and outputs.
"""

from __future__ import annotations

from typing import Any

from jsonata import Jsonata
from jsonata.functions import Functions

# Entries the range operator (`[a..b]`) may make; JSONata's own limit is 10 million.
MAX_RANGE = 100_000
# Characters `$pad` may pad to.
MAX_PAD_WIDTH = 1_000_000

_evaluate_range = Jsonata.evaluate_range_expression


def _capped_range(self: Jsonata, lhs: Any, rhs: Any) -> Any:
    if isinstance(lhs, int) and isinstance(rhs, int) and rhs - lhs + 1 > MAX_RANGE:
        raise ValueError(
            f"the range operator (..) may make at most {MAX_RANGE} entries, not {rhs - lhs + 1}"
        )
    return _evaluate_range(self, lhs, rhs)


class _CappedFunctions(Functions):
    @staticmethod
    def pad(string: str | None, width: int | None, char: str | None) -> str | None:
        if isinstance(width, int | float) and abs(width) > MAX_PAD_WIDTH:
            raise ValueError(f"$pad may pad to at most {MAX_PAD_WIDTH} characters")
        return Functions.pad(string, width, char)


def install() -> None:
    """Put the caps in place (idempotent): every Jsonata instance of the process gets them."""
    Jsonata.evaluate_range_expression = _capped_range  # type: ignore[method-assign]
    pad = Jsonata.JNativeFunction("pad", "<s-ns?:s>", _CappedFunctions, "pad")
    Jsonata.static_frame.bind("pad", pad)
