"""Filters, incident key extraction and subject normalisation.

Rules are validated when they are built, so an invalid rule cannot exist. A user's pattern can
still be slow: `.*a.*b.*c$` is cubic in the text's length. So matching sees at most
MATCH_TEXT_LIMIT characters of a field, patterns with nested unbounded repetition are refused
up front, and every search runs with a time limit (the `regex` module can stop a search; `re`
cannot): a search that runs out of time counts as no match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field as dataclass_field
from enum import StrEnum
from functools import lru_cache
import re
from typing import Any, Final

import regex

from .models import InboundEmail
from .text import clean_line

MATCH_TEXT_LIMIT: Final = 64 * 1024
MATCH_TIMEOUT: Final = 0.05  # seconds per search
# Searches keep the GIL: with a timeout the regex module otherwise lets go of it for every
# search, and taking it back waits for whatever other thread runs meanwhile (Home Assistant's
# recorder), often milliseconds for a search of microseconds.
SEARCH_OPTIONS: Final = {"timeout": MATCH_TIMEOUT, "concurrent": False}
KEY_MAX_LENGTH: Final = 255
FIELDS: Final = ("subject", "body", "from", "to")
HEADER_PREFIX: Final = "header:"


class MatchMode(StrEnum):
    ALL = "all"
    ANY = "any"


class Operator(StrEnum):
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    MATCHES = "matches"
    NOT_MATCHES = "not_matches"


# Each negation holds exactly when its positive form does not.
_NEGATED: Final = {
    Operator.NOT_CONTAINS: Operator.CONTAINS,
    Operator.NOT_EQUALS: Operator.EQUALS,
}


class KeyMethod(StrEnum):
    REGEX = "regex"
    BETWEEN = "between"
    WHOLE = "whole"


class NoKeyFallback(StrEnum):
    OPEN_WITHOUT_KEY = "open_without_key"
    SUBJECT_AS_KEY = "subject_as_key"
    IGNORE = "ignore"


class RuleError(ValueError):
    """An invalid rule: `field` is the input at fault, `reason` a translation key."""

    def __init__(
        self, message: str, *, field: str, reason: str, position: int | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.position = position


_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'


def validate_field(field_name: str) -> str:
    """The canonical field: subject, body, from, to or header:<Name>."""
    name = field_name.strip()
    if name.lower() in FIELDS:
        return name.lower()
    if name.lower().startswith(HEADER_PREFIX):
        header = name[len(HEADER_PREFIX) :].strip()
        if not _HEADER_NAME.match(header):
            raise RuleError(
                f"Invalid header name {header!r}", field="field", reason="invalid_header_name"
            )
        return HEADER_PREFIX + header
    raise RuleError(f"Unknown field {field_name!r}", field="field", reason="invalid_field")


def compile_pattern(pattern: str, *, field: str = "pattern", case_sensitive: bool = False) -> Any:
    """Compile a user's regular expression; RuleError names the problem and its position."""
    compiled = _compile(pattern, case_sensitive, field)
    if (position := nested_repetition(pattern)) is not None:
        raise RuleError(
            f"The repeated group at position {position} can end in a repetition of its own, "
            "like (a+)+, which can take exponential time; simplify the pattern",
            field=field,
            reason="catastrophic_regex",
            position=position,
        )
    return compiled


@lru_cache(maxsize=512)
def _compile(pattern: str, case_sensitive: bool, field: str) -> Any:
    try:
        return regex.compile(pattern, regex.V0 | (0 if case_sensitive else regex.IGNORECASE))
    except regex.error as err:
        raise RuleError(
            f"{err.msg} at position {err.pos}" if err.pos is not None else err.msg,
            field=field,
            reason="invalid_regex",
            position=err.pos,
        ) from err


_QUANTIFIER = re.compile(r"[*+?]|\{(\d*)(,?)(\d*)\}")
_UNBOUNDED: Final = -1


@dataclass(slots=True)
class _Group:
    """A group being scanned: can its current alternative, or an earlier one, end repeating?"""

    start: int
    ends_unbounded: bool = False
    earlier_alternative_does: bool = False


def nested_repetition(pattern: str) -> int | None:
    """Where a repeated group starts whose body can end in an unbounded repetition, if anywhere.

    That shape, `(a+)+` or `(\\w+\\s?)+`, lets the engine split a run of text between the inner
    and the outer repetition in exponentially many ways before it gives up. `(\\d+\\.){3}` is
    fine: each round must end with a dot. Expects a pattern that compiles (the syntax is
    valid); a verbose-mode pattern may slip through, which the search time limit still bounds.
    """
    groups = [_Group(start=-1)]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        atom_ends_unbounded = False
        if char == "|":
            groups[-1].earlier_alternative_does |= groups[-1].ends_unbounded
            groups[-1].ends_unbounded = False
            index += 1
            continue
        if char == "(":
            if pattern.startswith("(?#", index):
                index = pattern.index(")", index) + 1
            else:
                groups.append(_Group(start=index))
                index += 2 if pattern.startswith("(?", index) else 1
            continue
        if char == ")" and len(groups) > 1:
            closed = groups.pop()
            atom_start = closed.start
            atom_ends_unbounded = closed.ends_unbounded or closed.earlier_alternative_does
            index += 1
        elif char == "[":
            atom_start, index = index, _class_end(pattern, index)
        else:
            atom_start, index = index, index + (2 if char == "\\" else 1)
        minimum, maximum = 1, 1
        if quantifier := _QUANTIFIER.match(pattern, index):
            minimum, maximum = _bounds(quantifier)
            index = quantifier.end()
            if index < len(pattern) and pattern[index] in "?+":
                index += 1  # lazy or possessive
        if atom_ends_unbounded and maximum not in (0, 1):
            return atom_start
        group = groups[-1]
        if maximum == _UNBOUNDED:
            group.ends_unbounded = True
        elif minimum == 0:
            group.ends_unbounded |= atom_ends_unbounded  # an optional atom keeps what was before
        else:
            group.ends_unbounded = atom_ends_unbounded
    return None


def _bounds(quantifier: re.Match[str]) -> tuple[int, int]:
    """How often a quantifier repeats its atom, at least and at most (_UNBOUNDED)."""
    match quantifier.group():
        case "*":
            return 0, _UNBOUNDED
        case "+":
            return 1, _UNBOUNDED
        case "?":
            return 0, 1
    low, comma, high = quantifier.groups()
    if not comma:
        return int(low or 0), int(low or 0)
    return int(low or 0), int(high) if high else _UNBOUNDED


def _class_end(pattern: str, start: int) -> int:
    """The index just after the character class that opens at `start`."""
    index = start + 1
    if pattern.startswith("^", index):
        index += 1
    if pattern.startswith("]", index):
        index += 1  # a leading ']' is a literal
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index + 1


def field_text(email: InboundEmail, field_name: str) -> str:
    """The text a rule sees, cut to MATCH_TEXT_LIMIT characters."""
    match field_name:
        case "subject":
            text = email.subject
        case "body":
            text = email.body
        case "from":
            text = (
                f"{email.from_name} <{email.from_address}>"
                if email.from_name
                else email.from_address
            )
        case "to":
            text = ", ".join(dict.fromkeys(email.header_recipients + email.envelope_recipients))
        case _:
            text = email.headers.joined(field_name[len(HEADER_PREFIX) :])
    return text[:MATCH_TEXT_LIMIT]


def _single_addresses(email: InboundEmail, field_name: str) -> tuple[str, ...]:
    """The bare addresses of an address field, each compared on its own as well.

    So `from ends_with @example.com` and `from equals alerts@example.com` hold for
    "Alerts <alerts@example.com>", and `to starts_with` for any recipient, not just the first.
    """
    if field_name == "from":
        return (email.from_address,)
    if field_name == "to":
        return email.header_recipients + email.envelope_recipients
    return ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """One test on one field of an e-mail."""

    field: str
    operator: Operator
    value: str
    case_sensitive: bool = False
    _pattern: Any = dataclass_field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field", validate_field(self.field))
        object.__setattr__(self, "operator", Operator(self.operator))
        if not self.value:
            raise RuleError("Enter a value", field="value", reason="empty_value")
        if self.operator in (Operator.MATCHES, Operator.NOT_MATCHES):
            pattern = compile_pattern(self.value, field="value", case_sensitive=self.case_sensitive)
            object.__setattr__(self, "_pattern", pattern)

    def matches(self, email: InboundEmail) -> bool:
        text = field_text(email, self.field)
        if self._pattern is not None:
            try:
                found = self._pattern.search(text, **SEARCH_OPTIONS) is not None
            except TimeoutError:
                return False  # neither "matches" nor "does not match" can be told
            return found if self.operator is Operator.MATCHES else not found
        value, candidates = self.value, (text, *_single_addresses(email, self.field))
        if not self.case_sensitive:
            value, candidates = value.casefold(), tuple(c.casefold() for c in candidates)
        positive = _NEGATED.get(self.operator, self.operator)
        holds = any(self._compare(positive, candidate, value) for candidate in candidates)
        return holds if positive is self.operator else not holds

    @staticmethod
    def _compare(operator: Operator, text: str, value: str) -> bool:
        match operator:
            case Operator.CONTAINS:
                return value in text
            case Operator.EQUALS:
                return text.strip() == value.strip()
            case Operator.STARTS_WITH:
                return text.lstrip().startswith(value)
            case _:
                return text.rstrip().endswith(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionSet:
    """Conditions combined by all or any; an empty set matches every e-mail."""

    conditions: tuple[Condition, ...] = ()
    mode: MatchMode = MatchMode.ALL

    @property
    def is_empty(self) -> bool:
        return not self.conditions

    def matches(self, email: InboundEmail) -> bool:
        if not self.conditions:
            return True
        results = (condition.matches(email) for condition in self.conditions)
        return all(results) if self.mode is MatchMode.ALL else any(results)

    def first_failing(self, email: InboundEmail) -> int | None:
        """The number (from 1) of the condition that made an all-set fail; None otherwise."""
        if self.mode is MatchMode.ALL:
            for number, condition in enumerate(self.conditions, 1):
                if not condition.matches(email):
                    return number
        return None


_TEMPLATE_FIELD = re.compile(r"\{(\w+)\}")
WHOLE_KEY: Final = "key"  # what a template calls the text the between and whole methods find


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRule:
    """Where an incident key comes from; `template` builds it from the pattern's groups.

    Without a template a regular expression gives its group named key, else its groups joined
    by "-", else the whole match. A template such as "{host}/{service}" or "{1}" names groups by
    name or number; the between and whole methods know one field, {key}.
    """

    field: str
    method: KeyMethod
    pattern: str = ""
    prefix: str = ""
    suffix: str = ""
    case_sensitive: bool = False
    template: str = ""
    _pattern: Any = dataclass_field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field", validate_field(self.field))
        object.__setattr__(self, "method", KeyMethod(self.method))
        known = {WHOLE_KEY}
        if self.method is KeyMethod.REGEX:
            if not self.pattern:
                raise RuleError("Enter a pattern", field="pattern", reason="empty_value")
            compiled = compile_pattern(self.pattern, case_sensitive=self.case_sensitive)
            object.__setattr__(self, "_pattern", compiled)
            known = {*compiled.groupindex, *(str(n) for n in range(1, compiled.groups + 1))}
        elif self.method is KeyMethod.BETWEEN and not self.prefix:
            raise RuleError("Enter the text before the key", field="prefix", reason="empty_value")
        if unknown := sorted(set(_TEMPLATE_FIELD.findall(self.template)) - known):
            raise RuleError(
                f"The key template names {', '.join(unknown)}, which the rule does not find; "
                f"it knows {', '.join(sorted(known)) or 'no groups'}",
                field="template",
                reason="unknown_template_field",
            )

    def extract(self, email: InboundEmail) -> str | None:
        """The key, or None when this rule finds none in the e-mail."""
        text = field_text(email, self.field)
        fields: dict[str, str]
        if self._pattern is not None:
            try:
                match = self._pattern.search(text, **SEARCH_OPTIONS)
            except TimeoutError:
                return None
            if match is None:
                return None
            groups = match.groups()
            fields = {str(number): group or "" for number, group in enumerate(groups, 1)}
            fields |= {name: group or "" for name, group in match.groupdict().items()}
            if WHOLE_KEY in self._pattern.groupindex:
                key = fields[WHOLE_KEY]
            elif groups:
                key = "-".join(group for group in groups if group)
            else:
                key = match.group(0)
        elif self.method is KeyMethod.BETWEEN:
            start = text.find(self.prefix)
            if start < 0:
                return None
            rest = text[start + len(self.prefix) :]
            end = rest.find(self.suffix) if self.suffix else rest.find("\n")
            key = rest if end < 0 else rest[:end]
            fields = {WHOLE_KEY: key}
        else:
            key = text
            fields = {WHOLE_KEY: key}
        if self.template:
            key = _TEMPLATE_FIELD.sub(lambda found: fields[found.group(1)].strip(), self.template)
        return clean_line(key, KEY_MAX_LENGTH) or None


def first_key(rules: Sequence[KeyRule], email: InboundEmail) -> str | None:
    """The key of the first rule that finds one."""
    for rule in rules:
        if (key := rule.extract(email)) is not None:
            return key
    return None


_REPLY_TAGS = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|odp|tr|rv|r[ée]f|rif|enc|doorst)\s*(?:\[\d+\]|\(\d+\))?\s*:"
    r"|\[(?:external|ext|extern|fwd?|spam)\]|\*+\s*spam\s*\*+)\s*",
    re.IGNORECASE,
)
_WHITESPACE = re.compile(r"\s+")


def strip_reply_tags(subject: str) -> str:
    """Remove leading Re:, Fwd:, AW:, [EXTERNAL] ... tags, repeatedly."""
    while True:
        stripped = _REPLY_TAGS.sub("", subject, count=1)
        if stripped == subject:
            return subject
        subject = stripped


def normalise_subject(subject: str, *, strip_reply_tags_first: bool = True) -> str:
    """The form per_subject de-duplicates on: no case, no whitespace, optionally no tags."""
    if strip_reply_tags_first:
        subject = strip_reply_tags(subject)
    return _WHITESPACE.sub("", subject).casefold()[:KEY_MAX_LENGTH]
