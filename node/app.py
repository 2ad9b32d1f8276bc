"""The FastAPI application: ``create_app(settings)`` builds it; nothing happens at import."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from node.api import case_events, cases, council, errors, fees, licences, public
from node.api import property as property_api
from node.config import Settings
from node.runtime import Runtime


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """Return the node's app; it opens (or adopts) a runtime and runs its background work."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime(settings)
        app.state.runtime = rt
        app.state.closing = threading.Event()
        rt.start()
        try:
            yield
        finally:
            app.state.closing.set()
            if runtime is None:
                rt.stop()

    app = FastAPI(title="regnode", version="0.1.0", lifespan=lifespan,
                  description="E-licences and property titles on a shared EVM chain.")
    if runtime is not None:
        app.state.runtime = runtime
    # Set when the server begins to shut down (node.serving.NodeServer): event streams end on it.
    app.state.closing = threading.Event()
    errors.install(app)
    app.include_router(public.router)
    app.include_router(fees.router)
    app.include_router(cases.router)
    app.include_router(licences.router)
    app.include_router(licences.outbox_router)
    app.include_router(property_api.router)
    app.include_router(case_events.router)
    app.include_router(council.router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def verifier_page() -> str:
        return resources.files("node.web").joinpath("verify.html").read_text("utf-8")

    return app
