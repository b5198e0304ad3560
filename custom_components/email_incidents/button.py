"""Send test e-mail per alert source: a real e-mail through the listener, end to end."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
import smtplib
import ssl

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN, SUBENTRY_SOURCE
from .entity import EmailIncidentsEntity, async_add_subentry_entities
from .runtime import EmailIncidentsConfigEntry
from .settings import ListenerSettings

PARALLEL_UPDATES = 1

SEND_TEST_EMAIL = ButtonEntityDescription(
    key="send_test_email",
    translation_key="send_test_email",
    entity_category=EntityCategory.DIAGNOSTIC,
)
TEST_SUBJECT = "Test e-mail from Home Assistant"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmailIncidentsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_subentry_entities(
        entry,
        async_add_entities,
        lambda runtime, source_id: [SendTestEmailButton(runtime, SEND_TEST_EMAIL, source_id)],
        SUBENTRY_SOURCE,
    )


def send_test_email(settings: ListenerSettings, recipient: str) -> None:
    """Deliver over SMTP to our own listener, the way a monitoring tool would (blocking)."""
    host = settings.host if settings.host not in ("", "0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
    message = EmailMessage()
    message["From"] = f"homeassistant@{settings.mail_domain}"
    message["To"] = recipient
    message["Subject"] = TEST_SUBJECT
    message["Message-ID"] = make_msgid(domain=settings.mail_domain)
    message.set_content(
        "This e-mail was sent by the Send test e-mail button of Email Incidents.\n"
        "It travelled the whole path: SMTP, parsing, rules and the incident store."
    )
    # Our own listener: no need to look up this machine's name for the greeting.
    with smtplib.SMTP(host, settings.port, timeout=30, local_hostname="localhost") as client:
        if settings.tls_enabled:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # our own certificate, on our own host
            client.starttls(context=context)
        if settings.auth_enabled:
            client.login(settings.auth_username, settings.auth_password)
        client.send_message(message, message["From"], [recipient])


class SendTestEmailButton(EmailIncidentsEntity, ButtonEntity):
    async def async_press(self) -> None:
        recipient = self.source.addresses[0]
        try:
            await self.hass.async_add_executor_job(
                send_test_email, self.runtime.settings, recipient
            )
        except (OSError, smtplib.SMTPException) as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="test_email_failed",
                translation_placeholders={"address": recipient, "error": str(err)},
            ) from err
