from __future__ import annotations

from fastapi import FastAPI

from chassis.app import create_app as create_service_app
from intake.bootstrap import Intake
from intake.settings import IntakeSettings


def create_app() -> FastAPI:
    from intake.issues.router import router as issues_router
    from intake.open311.router import root as open311_root
    from intake.open311.router import router as open311_router
    from intake.visits.router import router as visits_router

    return create_service_app(
        Intake(IntakeSettings()),
        title="Louzhang intake",
        description="The front door: issues from other systems, their public status, feedback; visits (联络走访).",
        routers=[issues_router, visits_router, open311_root, open311_router],
    )
