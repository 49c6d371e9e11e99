"""E-mails over SMTP, when HELDOUT_SMTP_URL is set: invitations, and a submission's result."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from heldout.platform.config import Config
from heldout.platform.errors import ServiceUnavailable

if TYPE_CHECKING:
    from heldout.platform.services.invitations import Issued


def enabled(config: Config) -> bool:
    return bool(str(config["HELDOUT_SMTP_URL"]))


def send_invitation(config: Config, issued: Issued, slug: str) -> bool:
    """E-mail the link; False when no SMTP server is configured."""
    if not enabled(config):
        return False
    expiry = f" The link is valid until {issued.expires_at:%Y-%m-%d}." if issued.expires_at else ""
    send(
        config,
        issued.email,
        f"Your take-home challenge: {slug}",
        "Hello,\n\nYou are invited to a practical machine-learning challenge. It is untimed: "
        "work at your own pace.\n\nOpen your personal link (it is your key; do not share it):\n"
        f"{issued.url}\n{expiry}\n",
        "Check HELDOUT_SMTP_URL; the invitation was created and is listed by "
        "`heldout invite list`.",
    )
    return True


def send(config: Config, to: str, subject: str, body: str, advice: str = "") -> None:
    """Send one plain-text message; ServiceUnavailable names the server and what to check."""
    url = str(config["HELDOUT_SMTP_URL"])
    message = EmailMessage()
    message["From"] = config["HELDOUT_MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    parsed = urlparse(url)
    try:
        smtp_class = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
        with smtp_class(parsed.hostname or "127.0.0.1", parsed.port or 25, timeout=15) as smtp:
            if parsed.scheme == "smtp+starttls":
                smtp.starttls()
            if parsed.username:
                smtp.login(unquote(parsed.username), unquote(parsed.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise ServiceUnavailable(
            f"cannot send the e-mail through {parsed.hostname}:{parsed.port}: {exc}. "
            f"{advice or 'Check HELDOUT_SMTP_URL.'}"
        ) from None
