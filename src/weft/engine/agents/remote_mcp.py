"""The tools of a remote MCP server, listed for the editor's `mcp` node form.

Listed as the node would call them: through the org's outbound policy (its allow list on top
of the operator's), signed with the linked account's connection when one is named.
"""

from __future__ import annotations

from weft.apps.gateway import AppGateway
from weft.engine.interpreter.outbound import outbound_for
from weft.engine.workers.services import Services
from weft.errors import InvalidInput
from weft.net.mcp_client import RemoteTool, list_tools
from weft.nodes.runtime import NodeFailure
from weft.store.scope import Scope

LIST_TIMEOUT_S = 15.0


async def remote_tools(
    services: Services, scope: Scope, url: str, connection: str | None
) -> list[RemoteTool]:
    """The server's tools; OutboundError when it cannot be reached or is refused by the guard,
    InvalidInput when the named connection cannot sign the request."""
    headers: dict[str, str] = {}
    if connection:
        gateway = AppGateway(
            services, scope.org_id, scope.environment, scope.linked_account_pk, workflow_id=""
        )
        try:
            signed, query = await gateway.auth_for(connection)
        except NodeFailure as failure:
            raise InvalidInput(failure.message) from failure
        if query:
            raise InvalidInput(f"The {connection} connection signs with a query parameter")
        headers = dict(signed)
    client = await outbound_for(services, scope.org_id)
    return await list_tools(url, policy=client.policy, headers=headers, timeout_s=LIST_TIMEOUT_S)
