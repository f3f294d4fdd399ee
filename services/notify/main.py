from __future__ import annotations

from fastapi import FastAPI

from chassis.app import create_app as create_service_app
from notify.bootstrap import Notify
from notify.settings import NotifySettings


def create_app() -> FastAPI:
    from notify.deliveries.router import router as notifications_router
    from notify.inbox.router import router as inbox_router

    return create_service_app(
        Notify(NotifySettings()),
        title="Louzhang notify",
        description="Notifications to staff (inbox, WeCom, DingTalk, email, webhooks) and callbacks.",
        routers=[inbox_router, notifications_router],
    )
