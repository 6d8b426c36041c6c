"""The connection form from `securitySchemes`: which scheme, and where its values go.

A document may offer several ways in. Weft keeps one, chosen the same way every time: among
the security requirements the document (then its operations) lists, the one that lets the most
of the imported operations be called; among those, the one whose best scheme ranks first in
RANK; ties go to the requirement listed first. An operation the chosen credentials cannot call
is skipped with a warning. The ranking prefers what an end
user can connect alone with the least to type: OAuth2 authorization code (a browser sign-in),
then a bearer token, an API key (header, query, cookie), HTTP Basic, and last OAuth2 client
credentials. Implicit and password flows and OpenID Connect are not supported (a warning says
so). Schemes a requirement combines (an app id header and a key) all join the one form.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from weft.apps.model import Auth, KeyAuth, KeyField, NoAuth, OAuth2Auth
from weft.apps.openapi.naming import param_name, snake

RANK = ("oauth2_code", "bearer", "header", "query", "cookie", "basic", "oauth2_client")


def _kind(scheme: dict[str, Any]) -> str | None:
    kind = scheme.get("type")
    if kind == "apiKey" and scheme.get("in") in ("header", "query", "cookie"):
        return str(scheme["in"])
    if kind == "http":
        http = str(scheme.get("scheme", "")).lower()
        return {"bearer": "bearer", "basic": "basic"}.get(http)
    if kind == "oauth2":
        flows = scheme.get("flows") or {}
        if "authorizationCode" in flows:
            return "oauth2_code"
        if "clientCredentials" in flows:
            return "oauth2_client"
    return None


def requirements(document: dict[str, Any], operations: list[dict[str, Any]]) -> list[dict]:
    """Security requirements in document order: top level first, then each operation's."""
    found: list[dict[str, Any]] = []
    for listed in [document.get("security"), *(op.get("security") for op in operations)]:
        for requirement in listed or []:
            if isinstance(requirement, dict) and requirement not in found:
                found.append(requirement)
    return found


def callable_with(document: dict[str, Any], operation: dict[str, Any], schemes: set[str]) -> bool:
    """Whether sending the credentials of `schemes` meets one of `operation`'s requirements.

    An operation's own `security` replaces the document's; none, `[]` or an empty requirement
    `{}` means it needs no credentials. Extra credentials do no harm (a Datadog operation that
    wants only DD-API-KEY is met by DD-API-KEY with DD-APPLICATION-KEY).
    """
    listed = operation.get("security", document.get("security"))
    if not listed:
        return True
    return any(isinstance(r, dict) and set(r) <= schemes for r in listed)


def choose_auth(
    document: dict[str, Any],
    operations: list[dict[str, Any]],
    server_fields: list[KeyField],
    base_url: str,
    warnings: list[str],
) -> tuple[Auth, set[str] | None]:
    """The one auth the app connects with and the schemes it sends (see the module docstring).

    The schemes are None when the document offers no supported way in: the operations are kept
    as they are (the org may add credentials by hand).
    """
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    schemes = {name: s for name, s in schemes.items() if isinstance(s, dict)}
    listed = requirements(document, operations) or [{name: []} for name in schemes]
    best: tuple[int, int, dict[str, Any]] | None = None
    for requirement in listed:
        kinds = [_kind(schemes.get(name, {})) for name in requirement]
        if not requirement or None in kinds:
            unsupported = [n for n, k in zip(requirement, kinds, strict=True) if k is None]
            if unsupported:
                warnings.append(f"Security {', '.join(unsupported)} is not supported: skipped")
            continue
        # The requirement that lets the most of the chosen operations be called wins.
        served = sum(callable_with(document, op, set(requirement)) for op in operations)
        rank = min(RANK.index(kind) for kind in kinds if kind)
        if best is None or (-served, rank) < (-best[0], best[1]):
            best = (served, rank, requirement)
    if best is None:
        if server_fields:
            return KeyAuth(fields=server_fields), None
        return NoAuth(), None
    requirement = best[2]
    kinds = {name: _kind(schemes[name]) for name in requirement}
    oauth = next((name for name, kind in kinds.items() if kind and kind.startswith("oauth2")), None)
    if oauth is None:
        return _keybased(requirement, schemes, server_fields), set(requirement)
    if len(kinds) > 1:
        warnings.append(f"Only {oauth} of the combined security {sorted(kinds)} is used")
    # Only the scopes the document's operations ask for: a flow may list hundreds.
    scopes = sorted({str(s) for listed_one in listed for s in listed_one.get(oauth) or []})
    auth = _oauth2(schemes[oauth], kinds[oauth], scopes, server_fields, base_url, warnings)
    return auth, {oauth}


def _keybased(
    requirement: dict[str, Any], schemes: dict[str, dict[str, Any]], server_fields: list[KeyField]
) -> KeyAuth:
    taken = {field.name for field in server_fields}
    fields = list(server_fields)
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    cookies: dict[str, str] = {}
    basic: dict[str, str] | None = None
    for name in requirement:
        scheme, kind = schemes[name], _kind(schemes[name])
        scheme = schemes[name]
        about = str(scheme.get("description") or "")[:200]
        if kind == "basic":
            user, password = param_name("username", taken), param_name("password", taken)
            fields += [
                KeyField(name=user, label="Username", type="text", secret=False),
                KeyField(name=password, label="Password", placeholder=about),
            ]
            basic = {"username": "{" + user + "}", "password": "{" + password + "}"}
            continue
        field = param_name(snake(name) or "api_key", taken)
        label = "Access token" if kind == "bearer" else str(scheme.get("name") or name)
        fields.append(KeyField(name=field, label=label, placeholder=about))
        if kind == "bearer":
            headers["authorization"] = "Bearer {" + field + "}"
        elif kind == "header":
            headers[str(scheme["name"])] = "{" + field + "}"
        elif kind == "query":
            query[str(scheme["name"])] = "{" + field + "}"
        else:
            cookies[str(scheme["name"])] = "{" + field + "}"
    return KeyAuth.model_validate(
        {"fields": fields, "headers": headers, "query": query, "cookies": cookies, "basic": basic}
    )


def _oauth2(
    scheme: dict[str, Any],
    kind: str | None,
    scopes: list[str],
    server_fields: list[KeyField],
    base_url: str,
    warnings: list[str],
) -> OAuth2Auth:
    flows = scheme.get("flows") or {}

    def absolute(url: Any) -> str:
        text = str(url or "")
        return urljoin(base_url + "/", text) if text and "://" not in text and base_url else text

    if kind == "oauth2_code":
        flow = flows["authorizationCode"]
        if server_fields:
            warnings.append(
                "Server variables use their defaults with OAuth2 (the org may set base_url "
                "in the app's settings)"
            )
        return OAuth2Auth(
            authorize_url=absolute(flow.get("authorizationUrl")),
            token_url=absolute(flow.get("tokenUrl")),
            scopes=scopes,
        )
    flow = flows["clientCredentials"]
    fields = [
        KeyField(name="client_id", label="Client ID", type="text", secret=False),
        KeyField(name="client_secret", label="Client secret"),
        *[field for field in server_fields if field.name not in ("client_id", "client_secret")],
    ]
    return OAuth2Auth(
        grant="client_credentials",
        token_url=absolute(flow.get("tokenUrl")),
        scopes=scopes,
        fields=fields,
    )
