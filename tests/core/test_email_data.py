"""Recent e-mails as data and back: what rules look at survives, the body up to what they read."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from custom_components.email_incidents.core.email_data import email_from_data, email_to_data
from custom_components.email_incidents.core.parser import parse_email
from custom_components.email_incidents.core.rules import MATCH_TEXT_LIMIT

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.mark.parametrize(
    "name", ["with_attachment.eml", "zabbix_problem.eml", "recipes/nagios/1_service_problem.eml"]
)
def test_an_email_comes_back_as_it_went(name: str) -> None:
    email = parse_email((FIXTURES / name).read_bytes(), envelope_recipients=("a@b.c",))
    # Defects are not kept: no rule looks at them.
    assert email_from_data(email_to_data(email)) == replace(email, defects=())


def test_only_the_text_a_rule_reads_of_the_body_is_kept() -> None:
    email = parse_email(
        b"Subject: big\r\nX-Event: 1\r\nX-Event: 2\r\n\r\n" + b"a" * (MATCH_TEXT_LIMIT + 10)
    )
    back = email_from_data(email_to_data(email))
    assert len(back.body) == MATCH_TEXT_LIMIT
    assert back.headers["X-Event"] == ("1", "2")


def test_damaged_data_raises() -> None:
    data = email_to_data(parse_email(b"Subject: x\r\n\r\nbody"))
    with pytest.raises(KeyError):
        email_from_data({k: v for k, v in data.items() if k != "subject"})
    with pytest.raises(ValueError, match="Invalid isoformat"):
        email_from_data(data | {"date": "yesterday"})
