"""What every flow checks first in a text a user typed (paths, names, addresses, patterns,
notify targets): that it is text, not too long, and free of control characters (NUL, line
breaks, tabs), which no setting of this integration needs and some would turn into a crash
(a NUL byte in a path) or a forged log line; and that a number is a finite number (Home
Assistant's number selector lets "nan" through). The answer is a form error, never an
exception."""

from __future__ import annotations

from collections.abc import Collection, Mapping
import math
import re
from typing import Any, Final

# C0 (NUL, TAB, CR, LF ...), DEL, C1, and the Unicode line and paragraph separators.
_CONTROL_CHARACTERS: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_LIST_ITEMS: Final = 100


def text_error(value: Any, max_chars: int) -> str | None:
    """The form error of one typed value (a text or a list of texts), or None."""
    values = value if isinstance(value, list) else [value]
    if len(values) > MAX_LIST_ITEMS:
        return "too_many_values"
    for item in values:
        if not isinstance(item, str) or _CONTROL_CHARACTERS.search(item):
            return "invalid_text"
        if len(item) > max_chars:
            return "text_too_long"
    return None


def input_errors(
    user_input: Mapping[str, Any], max_chars: Mapping[str, int], numbers: Collection[str] = ()
) -> dict[str, str]:
    """The form errors of the typed fields of `user_input` named in `max_chars` (texts) and
    `numbers`, by field."""
    errors = {
        name: "invalid_number"
        for name in numbers
        if name in user_input and not _is_finite_number(user_input[name])
    }
    errors.update(
        (name, error)
        for name, limit in max_chars.items()
        if name in user_input and (error := text_error(user_input[name], limit)) is not None
    )
    return errors


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
