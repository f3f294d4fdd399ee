from __future__ import annotations

from fastapi import FastAPI

from chassis.app import create_app as create_service_app
from reporting.bootstrap import Reporting
from reporting.settings import ReportingSettings


def create_app() -> FastAPI:
    from reporting.api.agenda import router as agenda_router
    from reporting.api.drilldown import router as drilldown_router
    from reporting.api.exports import router as exports_router
    from reporting.api.reports import router as reports_router
    from reporting.dashboard.page import router as dashboard_router
    from reporting.workbench.pages import api as workbench_api
    from reporting.workbench.pages import router as workbench_router
    from reporting.workbench.pages import session_principal
    from reporting.workbench.reporter import router as reporter_router

    app = create_service_app(
        Reporting(ReportingSettings()),
        title="Louzhang reporting",
        description="KPIs, breakdowns, exports and the dashboard, from events.",
        routers=[
            reports_router,
            drilldown_router,
            exports_router,
            agenda_router,
            dashboard_router,
            workbench_api,
            workbench_router,
            reporter_router,
        ],
        body_limits={"/issues/*/resolve": 16 * 1024 * 1024},  # 办结 with up to three photos
    )
    app.state.session_principal = session_principal  # the dashboard reads with the workbench's session
    return app
