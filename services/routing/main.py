from __future__ import annotations

from fastapi import FastAPI

from chassis.app import create_app as create_service_app
from routing.bootstrap import Routing
from routing.settings import RoutingSettings


def create_app() -> FastAPI:
    from routing.directory.router import router as directory_router
    from routing.enterprises.router import router as enterprises_router
    from routing.tokens.router import router as tokens_router
    from routing.workorders.router import photos_router
    from routing.workorders.router import router as workorders_router

    settings = RoutingSettings()
    return create_service_app(
        Routing(settings),
        title="Louzhang routing",
        description="The directory (grid, buildings, staff, services), dispatch, escalation and work orders.",
        routers=[directory_router, enterprises_router, tokens_router, workorders_router, photos_router],
        # A photo, and the multipart envelope around it.
        body_limits={
            # A city's directory (10,300 buildings) is about 5 MB of JSON.
            "/v1/directory": 20 * 1024 * 1024,
            "/v1/enterprises": 20 * 1024 * 1024,
            "/v1/workorders/*/photos": settings.photo_max_bytes + 65536,
        },
    )
