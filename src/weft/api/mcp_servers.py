"""A linked account's MCP servers as Refold manages them (`/mcp-servers`), their protocol
token, and the org's view of each server's call log. The protocol itself: `api.mcp_protocol`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from weft.api.deps import OrgScopeDep, PageDep, ScopeDep, ServicesDep
from weft.api.mcp_protocol import PREFIX
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, Out, PageOut
from weft.apps import mcp_servers
from weft.apps.mcp_servers import ServerFields
from weft.settings import Settings
from weft.store.tables import McpCall, McpServer

router = Router(tags=["mcp servers"], responses=ERROR_RESPONSES)


class _In(BaseModel):
    model_config = ConfigDict(extra="allow")  # Refold's clients send fields Weft keeps not


class SuggestionIn(_In):
    name: str = Field(min_length=1, max_length=200)
    prompt: str = Field(max_length=10_000)


class ChainIn(_In):
    name: str = Field(min_length=1, max_length=200)
    goals: str = Field("", max_length=10_000)
    steps: str = Field("", max_length=10_000)
    precheck: str = Field("", max_length=10_000)
    successCondition: str = Field("", max_length=10_000)
    responseFormat: str = Field("", max_length=10_000)
    onError: str = Field("", max_length=10_000)


class ItemIn(_In):
    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=10_000)


class AssociatedAppIn(_In):
    slug: str = Field(min_length=1, max_length=100)
    actions: list[ItemIn] = Field(default_factory=list, max_length=500)
    workflows: list[ItemIn] = Field(default_factory=list, max_length=100)


class ServerIn(BaseModel):
    """Create or update (update: only what is given changes; a list replaces the stored one).

    Weft adds `mode` (`direct`: one tool per action and workflow; `agent`: RESOLVE_ACTIONS and
    EXECUTE_ACTION) and `read_only` (write actions withheld)."""

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    mode: Literal["direct", "agent"] | None = None
    read_only: bool | None = None
    suggestions: list[SuggestionIn] | None = Field(None, max_length=100)
    chains: list[ChainIn] | None = Field(None, max_length=100)
    associated_apps: list[AssociatedAppIn] | None = Field(None, max_length=50)

    def fields(self) -> ServerFields:
        def dumped(items: list[Any] | None) -> list[dict[str, Any]] | None:
            return None if items is None else [item.model_dump() for item in items]

        return ServerFields(
            name=self.name,
            description=self.description,
            mode=self.mode,
            read_only=self.read_only,
            suggestions=dumped(self.suggestions),
            chains=dumped(self.chains),
            associated_apps=dumped(self.associated_apps),
        )


class CreateServerIn(ServerIn):
    name: str = Field(min_length=1, max_length=200)  # type: ignore[assignment]


class ServerOut(Out):
    id: str = Field(alias="_id")
    name: str
    description: str
    associated_org_id: str
    environment: str
    mode: str
    read_only: bool
    suggestions: list[dict[str, Any]]
    chains: list[dict[str, Any]]
    associated_apps: list[dict[str, Any]]
    resources: list[Any] = Field(default_factory=list)
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    # Shown once, on create and when rotated: the token and the URL clients connect to.
    token: str | None = None
    mcp_url: str | None = None

    @classmethod
    def of(cls, server: McpServer, token: str | None = None, base: str = "") -> ServerOut:
        return cls(
            id=server.id,
            name=server.name,
            description=server.description,
            associated_org_id=server.org_id,
            environment=server.environment,
            mode=server.mode,
            read_only=server.read_only,
            suggestions=server.suggestions,
            chains=server.chains,
            associated_apps=server.associated_apps,
            created_at=server.created_at,
            updated_at=server.updated_at,
            token=token,
            mcp_url=f"{base}{PREFIX}/{token}/{server.id}" if token else None,
        )


class McpCallOut(Out):
    id: str = Field(alias="_id")
    tool: str
    app: str | None
    action: str | None
    arguments: Any
    status: str
    http_status: int | None
    error: str | None
    duration_ms: int
    created_at: datetime = Field(alias="createdAt")

    @classmethod
    def of(cls, call: McpCall) -> McpCallOut:
        return cls(
            id=call.id,
            tool=call.tool,
            app=call.app,
            action=call.action,
            arguments=call.arguments,
            status=call.status,
            http_status=call.http_status,
            error=call.error,
            duration_ms=call.duration_ms,
            created_at=call.created_at,
        )


def _base(settings: Settings) -> str:
    return str(settings.base_url).rstrip("/")


@router.post("/mcp-servers", response_model=ServerOut, summary="Create an MCP server")
async def create_server(body: CreateServerIn, scope: ScopeDep, services: ServicesDep) -> ServerOut:
    server, token = await mcp_servers.create_server(services.db, scope, body.fields())
    return ServerOut.of(server, token, _base(services.settings))


@router.get("/mcp-servers", response_model=PageOut[ServerOut], summary="The account's servers")
async def list_servers(scope: ScopeDep, services: ServicesDep, paging: PageDep) -> PageOut[Any]:
    page = await mcp_servers.list_servers(services.db, scope, page=paging.page, limit=paging.limit)
    return PageOut.of(page, [ServerOut.of(server) for server in page.items])


@router.get("/mcp-servers/{mcp_server_id}", response_model=ServerOut, summary="One server")
async def get_server(mcp_server_id: str, scope: ScopeDep, services: ServicesDep) -> ServerOut:
    return ServerOut.of(await mcp_servers.get_server(services.db, scope, mcp_server_id))


@router.put("/mcp-servers/{mcp_server_id}", response_model=ServerOut, summary="Update a server")
async def update_server(
    mcp_server_id: str, body: ServerIn, scope: ScopeDep, services: ServicesDep
) -> ServerOut:
    server = await mcp_servers.update_server(services.db, scope, mcp_server_id, body.fields())
    return ServerOut.of(server)


@router.delete("/mcp-servers/{mcp_server_id}", summary="Delete a server and its call log")
async def delete_server(
    mcp_server_id: str, scope: ScopeDep, services: ServicesDep
) -> dict[str, bool]:
    await mcp_servers.delete_server(services.db, scope, mcp_server_id)
    return {"success": True}


@router.post(
    "/mcp-servers/{mcp_server_id}/token",
    response_model=ServerOut,
    summary="A new protocol token (the old one stops working)",
)
async def rotate_token(mcp_server_id: str, scope: ScopeDep, services: ServicesDep) -> ServerOut:
    token = await mcp_servers.rotate_token(services.db, scope, mcp_server_id)
    server = await mcp_servers.get_server(services.db, scope, mcp_server_id)
    return ServerOut.of(server, token, _base(services.settings))


@router.get(
    "/mcp-servers/{mcp_server_id}/logs",
    response_model=PageOut[McpCallOut],
    summary="The server's tool calls (org key), newest first",
)
async def call_log(
    mcp_server_id: str, org: OrgScopeDep, services: ServicesDep, paging: PageDep, request: Request
) -> PageOut[Any]:
    _, page = await mcp_servers.list_calls(
        services.db, org, mcp_server_id, page=paging.page, limit=paging.limit
    )
    return PageOut.of(page, [McpCallOut.of(call) for call in page.items])
