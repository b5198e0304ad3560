"""An InboundEmail as JSON-able data and back, for the recent e-mails kept over restarts.

Only what rules can look at is kept, and of the body no more than a rule ever reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import Attachment, Headers, InboundEmail
from .rules import MATCH_TEXT_LIMIT

_ADDRESS_LISTS = ("to", "cc", "bcc", "delivered_to", "envelope_recipients", "references")
_TEXTS = ("subject", "from_address", "from_name", "envelope_sender", "message_id", "in_reply_to")


def email_to_data(email: InboundEmail) -> dict[str, Any]:
    data: dict[str, Any] = {name: getattr(email, name) for name in _TEXTS}
    data |= {name: list(getattr(email, name)) for name in _ADDRESS_LISTS}
    data |= {
        "date": email.date.isoformat() if email.date else None,
        "headers": [[name, value] for name in email.headers for value in email.headers[name]],
        "body": email.body[:MATCH_TEXT_LIMIT],
        "attachments": [[a.filename, a.content_type, a.size] for a in email.attachments],
        "size": email.size,
    }
    return data


def email_from_data(data: dict[str, Any]) -> InboundEmail:
    """The e-mail of `email_to_data`; ValueError, KeyError or TypeError if it is damaged."""

    def texts(name: str) -> tuple[str, ...]:
        return tuple(str(item) for item in data[name])

    return InboundEmail(
        subject=str(data["subject"]),
        from_address=str(data["from_address"]),
        from_name=str(data["from_name"]),
        to=texts("to"),
        cc=texts("cc"),
        bcc=texts("bcc"),
        delivered_to=texts("delivered_to"),
        envelope_sender=str(data["envelope_sender"]),
        envelope_recipients=texts("envelope_recipients"),
        message_id=str(data["message_id"]),
        in_reply_to=str(data["in_reply_to"]),
        references=texts("references"),
        date=datetime.fromisoformat(data["date"]) if data["date"] else None,
        headers=Headers(tuple((str(name), str(value)) for name, value in data["headers"])),
        body=str(data["body"]),
        attachments=tuple(
            Attachment(filename=str(name), content_type=str(kind), size=int(size))
            for name, kind, size in data["attachments"]
        ),
        size=int(data["size"]),
    )
