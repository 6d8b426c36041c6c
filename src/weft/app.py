"""create_app(settings) -> FastAPI: routers, middleware, lifespan."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from weft import __version__
from weft.api import (
    app_hooks,
    app_imports,
    applications,
    audit,
    connect_portal,
    connections,
    direct_actions,
    editor,
    executions,
    frontend_sdk,
    health,
    hooks,
    linked_accounts,
    mcp_protocol,
    mcp_servers,
    notification_webhooks,
    org_settings,
    public_configs,
    replays,
    runs,
    templates,
    usage,
    workflow_files,
    workflow_pauses,
    workflows,
)
from weft.api.access_log import AccessLogMiddleware
from weft.api.audit import AuditMiddleware
from weft.api.client_address import ClientAddresses
from weft.api.cors import CorsMiddleware
from weft.api.deps import AppState, install_app_state
from weft.api.envelope import BodyLimitMiddleware, RequestIdMiddleware, install_error_handlers
from weft.api.openapi import install_openapi
from weft.api.pages import install_pages
from weft.apps.service import prepare_database
from weft.crypto import deployment_secret
from weft.engine.workers.host import Engine, build_services
from weft.settings import Settings
from weft.store.db import Database
from weft.tenancy import service as tenancy_service
from weft.tenancy.rate_limits import RateLimiter
from weft.web import page as editor_page
from weft.web import portal as connect_page
from weft.web.log_redaction import install_access_log_redaction

API_PREFIX = "/api/v2/public"


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    """The Weft HTTP application for `settings` (the database must be migrated)."""
    database = db or Database(
        settings.resolved_database_url,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        connections=settings.db_connections,
    )

    services = build_services(database, settings)
    mcp_endpoint = mcp_protocol.McpEndpoint()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Without WEFT_SECRET_KEY, the first start generates the key file into the data dir.
        deployment_secret(settings)
        await prepare_database(database)
        engine = Engine(services)
        await engine.start(settings.workers, schedule=settings.workers > 0)
        yield
        await mcp_endpoint.close()
        await engine.stop()
        await database.dispose()

    app = FastAPI(
        title="Weft",
        version=__version__,
        description="Private workflows for embedded iPaaS; compatible with Refold's public API.",
        lifespan=lifespan,
        docs_url=None,  # served by install_pages from the package's own assets
        redoc_url=None,
        # Weft reports through its own metrics and logs (weft.observability). FastAPI's native
        # OpenTelemetry would look up the global providers per request to learn it has none.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_app_state(
        app,
        AppState(
            settings=settings,
            db=database,
            services=services,
            rate_limiter=RateLimiter(database),
            client_addresses=ClientAddresses(settings.trusted_proxy_networks),
        ),
    )
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
        larger={f"{API_PREFIX}{app_imports.IMPORT_PATH}": settings.max_import_bytes},
    )

    app.add_middleware(
        CorsMiddleware,
        origins_of_org=functools.partial(tenancy_service.allowed_origins, database),
        allowed_anywhere=functools.partial(tenancy_service.any_org_allows, database),
    )
    app.add_middleware(AuditMiddleware)  # after a successful change: who did what
    app.add_middleware(AccessLogMiddleware)  # route templates only: no hook secret, no query
    app.add_middleware(RequestIdMiddleware)  # outermost: every response, 413 included, has an id

    # Routes are matched in order, one regular expression each: the hot trigger paths (inbound
    # webhooks, execute) come first, so a busy webhook is not matched against a hundred others.
    app.include_router(app_hooks.router)  # before `/hooks/{secret}`: two segments, no clash
    app.include_router(hooks.router)
    # Included straight into the app with the prefix: through an intermediate router FastAPI
    # analysed every route twice per app (create_app runs once per test, too).
    public_routers = (
        public_configs.router,  # before `/workflow/{id}`: /workflow/enabled
        runs.router,
        replays.router,
        linked_accounts.router,
        audit.router,
        app_imports.router,  # before `/application/{slug}` routes
        applications.router,
        connections.router,
        workflow_files.router,  # before `/workflow/{id}`: /workflow/import
        templates.router,  # before `/workflow/{id}`: /workflow/from-template
        workflows.router,
        workflow_pauses.router,
        executions.router,
        notification_webhooks.router,
        org_settings.router,
        usage.router,
        editor.router,
        mcp_servers.router,
        connect_portal.router,
    )
    for router in public_routers:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(frontend_sdk.router)
    app.include_router(direct_actions.router)
    app.include_router(connections.browser_router)
    app.include_router(editor_page.router)
    app.include_router(connect_page.router)
    install_access_log_redaction()
    install_pages(app)
    install_openapi(app)

    app.include_router(health.router)
    app.mount(mcp_protocol.PREFIX, mcp_endpoint)
    return app
