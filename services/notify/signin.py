"""Sign-in links to the workbench, mailed to the person's own address (never to a robot, which a
whole group reads). The link is logged nowhere; a redelivered request may mail it twice."""

from __future__ import annotations

import logging

from kernel.events import Event, SigninLink
from kernel.times import SHANGHAI
from notify.channels.base import Message, Outgoing, SendError
from notify.channels.mail import Email

log = logging.getLogger(__name__)


def message(link: SigninLink) -> Message:
    until = link.expires_at.astimezone(SHANGHAI).strftime("%H:%M")
    body = "\n".join(
        [
            f"{link.name}，您好：",
            f"请点击下面的链接登录楼长工作台（{until} 前有效，只能使用一次）：",
            link.url,
            "如果不是您本人申请，请忽略本邮件，链接过期后自动失效。",
        ]
    )
    return Message(title="楼长工作台登录链接", body=body)


async def send(email: Email | None, event: Event, link: SigninLink) -> None:
    """Mail the link; a refused address is dropped (with a warning), a passing failure retried."""
    if email is None:
        log.warning("sign-in link for %s not sent: no SMTP configured (LOUZHANG_SMTP_URL)", link.staff_id)
        return
    out = Outgoing(
        delivery_id=event.id, event=event.name, message=message(link), payload={}, target={"email": link.email}
    )
    try:
        await email.send(out)
    except SendError as exc:
        if exc.retryable:
            raise RuntimeError(f"sign-in mail for {link.staff_id} not sent yet: SMTP unavailable") from None
        log.warning("sign-in link for %s not sent: the mail server refused the address", link.staff_id)
        return
    log.info("sign-in link mailed to %s", link.staff_id)
