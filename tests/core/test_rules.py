"""Filters, key rules, subject normalisation and rule validation."""

from __future__ import annotations

import time

import pytest

from custom_components.email_incidents.core.models import Headers, InboundEmail
from custom_components.email_incidents.core.rules import (
    MATCH_TEXT_LIMIT,
    Condition,
    ConditionSet,
    KeyMethod,
    KeyRule,
    MatchMode,
    Operator,
    RuleError,
    field_text,
    first_key,
    nested_repetition,
    normalise_subject,
    validate_field,
)

EMAIL = InboundEmail(
    subject="PROBLEM: Host web1 is DOWN",
    from_address="my-tool@acme.com",
    from_name="My Tool",
    to=("nagios@homeassistant.local",),
    envelope_recipients=("nagios+ops@homeassistant.local",),
    headers=Headers((("X-Event-Id", "4711"), ("In-Reply-To", "<77.88@zabbix>"))),
    body="Host: web1\nState: DOWN\nSeverity: critical",
)


@pytest.mark.parametrize(
    ("field", "operator", "value", "case_sensitive", "expected"),
    [
        ("subject", Operator.CONTAINS, "problem", False, True),
        ("subject", Operator.CONTAINS, "problem", True, False),
        ("subject", Operator.NOT_CONTAINS, "RECOVERY", False, True),
        ("subject", Operator.EQUALS, "problem: host web1 is down", False, True),
        ("subject", Operator.NOT_EQUALS, "PROBLEM: Host web1 is DOWN", True, False),
        ("subject", Operator.STARTS_WITH, "PROBLEM", True, True),
        ("subject", Operator.ENDS_WITH, "down", False, True),
        ("subject", Operator.MATCHES, r"host \w+ is down", False, True),
        ("subject", Operator.NOT_MATCHES, r"host \w+ is down", True, True),
        ("body", Operator.CONTAINS, "severity: critical", False, True),
        ("from", Operator.CONTAINS, "my-tool@acme.com", False, True),
        ("from", Operator.STARTS_WITH, "My Tool", True, True),
        ("to", Operator.CONTAINS, "nagios+ops@", False, True),
        # Address fields also compare each bare address: the display name does not get in the way.
        ("from", Operator.EQUALS, "MY-TOOL@acme.com", False, True),
        ("from", Operator.ENDS_WITH, "@acme.com", False, True),
        ("from", Operator.ENDS_WITH, "@acme.com>", False, True),
        ("from", Operator.NOT_EQUALS, "my-tool@acme.com", False, False),
        ("from", Operator.NOT_EQUALS, "other@acme.com", False, True),
        ("to", Operator.STARTS_WITH, "nagios+ops@", True, True),  # the second recipient
        ("to", Operator.EQUALS, "nagios@homeassistant.local", False, True),
        ("header:X-Event-Id", Operator.EQUALS, "4711", True, True),
        ("header:x-missing", Operator.EQUALS, "", False, None),
    ],
)
def test_operators_and_fields(
    field: str, operator: Operator, value: str, case_sensitive: bool, expected: bool | None
) -> None:
    if expected is None:
        with pytest.raises(RuleError) as err:
            Condition(field=field, operator=operator, value=value)
        assert err.value.reason == "empty_value"
        return
    condition = Condition(
        field=field, operator=operator, value=value, case_sensitive=case_sensitive
    )
    assert condition.matches(EMAIL) is expected


def test_spec_example_filter() -> None:
    """Only e-mails from my-tool@acme.com whose subject contains PROBLEM."""
    rules = ConditionSet(
        conditions=(
            Condition(field="from", operator=Operator.CONTAINS, value="my-tool@acme.com"),
            Condition(field="subject", operator=Operator.CONTAINS, value="PROBLEM"),
        ),
        mode=MatchMode.ALL,
    )
    assert rules.matches(EMAIL)
    assert not rules.matches(InboundEmail(subject="PROBLEM", from_address="other@acme.com"))
    any_rules = ConditionSet(conditions=rules.conditions, mode=MatchMode.ANY)
    assert any_rules.matches(InboundEmail(subject="PROBLEM", from_address="other@acme.com"))
    assert ConditionSet().matches(EMAIL)
    assert ConditionSet().is_empty


def test_validation_errors_name_the_problem() -> None:
    with pytest.raises(RuleError) as bad_regex:
        Condition(field="subject", operator=Operator.MATCHES, value="(unclosed")
    assert bad_regex.value.reason == "invalid_regex"
    assert bad_regex.value.position == 9
    assert str(bad_regex.value) == "missing ) at position 9"
    with pytest.raises(RuleError) as catastrophic:
        Condition(field="body", operator=Operator.MATCHES, value="(a+)+$")
    assert catastrophic.value.reason == "catastrophic_regex"
    with pytest.raises(RuleError) as header:
        validate_field("header:Bad Name")
    assert header.value.reason == "invalid_header_name"
    with pytest.raises(RuleError) as unknown:
        validate_field("priority")
    assert unknown.value.reason == "invalid_field"
    assert validate_field(" Subject ") == "subject"


@pytest.mark.parametrize(
    ("pattern", "position"),
    [
        ("(a+)+$", 0),
        ("(x*)*", 0),
        ("(.*)*", 0),
        ("x(a+){2,}", 1),
        (r"^(\w+\s?)+$", 1),  # the optional tail still ends in \w+
        ("((a+))+", 0),
        ("(?:b|a+)+", 0),
        ("(?i)([a-z]+[0-9]*)*", 4),
        ("(a{2,})+", 0),
        ("(a+?)++", 0),  # lazy and possessive suffixes are read as part of the quantifier
        ("[^)]+(a+)*", 5),
        ("[]()]+(a+)*", 6),  # a leading ']' does not end the class
        (r"(\d+\.){3}\d+", None),  # each round must end with a dot
        ("(a+b)+", None),
        ("(a+)?", None),
        ("(a{2,5})+", None),
        (r"\(a+\)+", None),
        ("[(]a+[)]+", None),
        ("(?#(a+))+x", None),
        (r"Event (?P<key>\d+)", None),
        (".*a.*b.*c.*d$", None),
    ],
)
def test_nested_repetition_is_found_where_it_starts(pattern: str, position: int | None) -> None:
    assert nested_repetition(pattern) == position


def test_catastrophic_pattern_is_refused_with_its_position() -> None:
    with pytest.raises(RuleError) as err:
        KeyRule(field="body", method=KeyMethod.REGEX, pattern=r"id=(\w+\s?)+;")
    assert (err.value.field, err.value.reason, err.value.position) == (
        "pattern",
        "catastrophic_regex",
        3,
    )


def test_matching_is_bounded_on_huge_bodies() -> None:
    """A cubic pattern on a 10 MB body: 64 KiB of text, stopped after its time limit."""
    huge = InboundEmail(body="a" * 10_000_000, subject="a" * 10_000)
    assert len(field_text(huge, "body")) == MATCH_TEXT_LIMIT
    started = time.perf_counter()
    for operator in (Operator.MATCHES, Operator.NOT_MATCHES):
        condition = Condition(field="body", operator=operator, value=r".*a.*b.*c$")
        assert condition.matches(huge) is False
    key = KeyRule(field="subject", method=KeyMethod.REGEX, pattern=r"(.*a.*b.*c)$")
    assert key.extract(huge) is None
    # Each search stops after MATCH_TIMEOUT (50 ms); without it this takes hours.
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (KeyRule(field="subject", method=KeyMethod.REGEX, pattern=r"Host (?P<key>\w+)"), "web1"),
        (
            KeyRule(field="subject", method=KeyMethod.REGEX, pattern=r"(\w+): Host (\w+)"),
            "PROBLEM-web1",
        ),
        (KeyRule(field="subject", method=KeyMethod.REGEX, pattern=r"web\d"), "web1"),
        (KeyRule(field="subject", method=KeyMethod.REGEX, pattern=r"absent (\d+)"), None),
        (KeyRule(field="body", method=KeyMethod.BETWEEN, prefix="Host: "), "web1"),
        (KeyRule(field="body", method=KeyMethod.BETWEEN, prefix="State: ", suffix="\nSev"), "DOWN"),
        (KeyRule(field="body", method=KeyMethod.BETWEEN, prefix="Nope: "), None),
        (KeyRule(field="header:In-Reply-To", method=KeyMethod.WHOLE), "<77.88@zabbix>"),
        (KeyRule(field="header:X-None", method=KeyMethod.WHOLE), None),
        (KeyRule(field="subject", method=KeyMethod.REGEX, pattern=r"host (?P<key>\w+)"), "web1"),
        (
            KeyRule(
                field="subject",
                method=KeyMethod.REGEX,
                pattern=r"host (?P<key>\w+)",
                case_sensitive=True,
            ),
            None,
        ),
        (
            KeyRule(
                field="body",
                method=KeyMethod.REGEX,
                pattern=r"Host: (?P<host>\S+)\nState: (\w+)",
                template="{host}/{2}",
            ),
            "web1/DOWN",
        ),
        (
            KeyRule(
                field="subject",
                method=KeyMethod.REGEX,
                pattern=r"(?P<kind>\w+): Host (?P<host>\w+)(?P<absent>!)?",
                template="{host} {absent}({kind})",
            ),
            "web1 (PROBLEM)",
        ),
        (
            KeyRule(field="header:X-Event-Id", method=KeyMethod.WHOLE, template="zabbix-{key}"),
            "zabbix-4711",
        ),
        (
            KeyRule(field="body", method=KeyMethod.BETWEEN, prefix="Host: ", template="{key}!"),
            "web1!",
        ),
    ],
)
def test_key_rules(rule: KeyRule, expected: str | None) -> None:
    assert rule.extract(EMAIL) == expected


def test_the_first_key_rule_that_finds_a_key_wins() -> None:
    service = KeyRule(field="subject", method=KeyMethod.REGEX, pattern=r"Service (?P<key>\S+)")
    host = KeyRule(field="subject", method=KeyMethod.REGEX, pattern=r"Host (?P<key>\S+)")
    event = KeyRule(field="header:X-Event-Id", method=KeyMethod.WHOLE)
    assert first_key((service, host, event), EMAIL) == "web1"
    assert first_key((event, host), EMAIL) == "4711"
    assert first_key((service,), EMAIL) is None
    assert first_key((), EMAIL) is None


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"method": KeyMethod.REGEX, "pattern": r"(?P<host>\w+)", "template": "{host}/{svc}"},
            "The key template names svc, which the rule does not find; it knows 1, host",
        ),
        (
            {"method": KeyMethod.REGEX, "pattern": r"(\w+)", "template": "{2}"},
            "The key template names 2, which the rule does not find; it knows 1",
        ),
        (
            {"method": KeyMethod.WHOLE, "template": "{host}"},
            "The key template names host, which the rule does not find; it knows key",
        ),
    ],
)
def test_a_template_may_only_name_what_the_rule_finds(rule: dict[str, str], message: str) -> None:
    with pytest.raises(RuleError) as err:
        KeyRule(field="subject", **rule)  # type: ignore[arg-type]
    assert (err.value.field, err.value.reason, str(err.value)) == (
        "template",
        "unknown_template_field",
        message,
    )


def test_key_rule_validation_and_cap() -> None:
    with pytest.raises(RuleError) as no_pattern:
        KeyRule(field="subject", method=KeyMethod.REGEX)
    assert no_pattern.value.field == "pattern"
    with pytest.raises(RuleError) as no_prefix:
        KeyRule(field="subject", method=KeyMethod.BETWEEN)
    assert no_prefix.value.field == "prefix"
    long = KeyRule(field="subject", method=KeyMethod.WHOLE).extract(
        InboundEmail(subject="k" * 1000)
    )
    assert long == "k" * 255


@pytest.mark.parametrize(
    ("subject", "strip", "expected"),
    [
        ("Re: AW: Fwd:  Disk  Full ", True, "diskfull"),
        ("RE[2]: [EXTERNAL] WG: SV: Backup failed", True, "backupfailed"),
        ("*** SPAM *** Fw: Test", True, "test"),
        ("Re: Disk full", False, "re:diskfull"),
        ("Report: weekly", True, "report:weekly"),
    ],
)
def test_normalise_subject(subject: str, strip: bool, expected: str) -> None:
    assert normalise_subject(subject, strip_reply_tags_first=strip) == expected
