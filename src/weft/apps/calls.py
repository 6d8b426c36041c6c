"""Turn an action's parameters and a connection into one HTTP request (pure: no I/O)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from weft.apps.json_schema import value_problems
from weft.apps.model import Action, AppDefinition, KeyAuth, OAuth2Auth, fill
from weft.redaction import redact_request

_PLACEHOLDER = re.compile(r"\{(\+?)([A-Za-z_][A-Za-z0-9_]*)\}")


class ActionInputError(ValueError):
    """Parameters that cannot make the request (a required one missing, a bad type)."""


@dataclass
class PreparedRequest:
    """One request ready to send; `shown` is what a step may record (no credentials)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)  # a list value repeats its key
    json: Any = None
    content: bytes | None = None
    shown: dict[str, Any] = field(default_factory=dict)
    # The query parameters that carry credentials (also in `query`): a next-page link keeps
    # its own query and gets only these.
    auth_query: dict[str, str] = field(default_factory=dict)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def form_pairs(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested values in the bracket form Stripe and Rails read (`metadata[plan]=pro`)."""
    if isinstance(value, dict):
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            pairs += form_pairs(item, f"{prefix}[{key}]" if prefix else str(key))
        return pairs
    if isinstance(value, list):
        pairs = []
        for index, item in enumerate(value):
            pairs += form_pairs(item, f"{prefix}[{index}]")
        return pairs
    if value is None:
        return []
    return [(prefix, _text(value))]


def check_parameters(action: Action, params: dict[str, Any]) -> None:
    """`params` against the action's JSON schema (a null value counts as not given)."""
    given = {name: value for name, value in params.items() if value is not None}
    if problems := value_problems(action.parameters, given, "params"):
        raise ActionInputError(f"{action.name}: {'; '.join(problems)}")


def _fill_path(path: str, params: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        raw, name = match.group(1), match.group(2)
        value = _text(params.get(name, ""))
        # `{+name}`: a path the user gives keeps its slashes; anything else is one segment.
        return quote(value.lstrip("/"), safe="/") if raw else quote(value, safe="")

    return _PLACEHOLDER.sub(one, path)


def _query_value(value: Any, style: str | None) -> Any:
    """A query value as the wire spells it: arrays repeat the key unless a style joins them."""
    if isinstance(value, list):
        texts = [_text(item) for item in value if item is not None]
        joiner = {"comma": ",", "space": " ", "pipe": "|"}.get(style or "")
        return joiner.join(texts) if joiner is not None else texts
    return _text(value)


def _query_of(action: Action, remaining: dict[str, Any]) -> dict[str, Any]:
    """Pop the action's query parameters out of `remaining`, keyed by their wire names."""
    query: dict[str, Any] = {}
    for name in action.query:
        value = remaining.pop(name, None)
        wire, style = action.wire_names.get(name, name), action.query_styles.get(name)
        if isinstance(value, dict):
            if style == "deep_object":
                pairs = form_pairs(value, wire)
                query.update({key: text for key, text in pairs})
            else:
                query.update(
                    {str(k): _query_value(v, None) for k, v in value.items() if v is not None}
                )
        elif value is not None:
            query[wire] = _query_value(value, style)
    return query


def _wire(action: Action, values: dict[str, Any]) -> dict[str, Any]:
    if not action.wire_names:
        return values
    return {action.wire_names.get(name, name): value for name, value in values.items()}


def build_request(
    definition: AppDefinition,
    action: Action,
    params: dict[str, Any],
    credentials: dict[str, Any] | None,
    *,
    base_url: str | None = None,
) -> PreparedRequest:
    """The request `action` makes with `params`, signed with `credentials`."""
    check_parameters(action, params)
    fields = _with_defaults(definition, (credentials or {}).get("fields", {}))
    root = base_url or (credentials or {}).get("base_url") or definition.base_url
    root = fill(root, fields).rstrip("/")
    if not root.startswith(("http://", "https://")):
        raise ActionInputError(f"{definition.slug} has no base URL (connect it or set one)")
    remaining = {k: v for k, v in params.items() if k not in action.path_params()}
    query = _query_of(action, remaining)
    sent_headers = {
        action.wire_names.get(name, name): _text(value)
        for name in action.header_params
        if (value := remaining.pop(name, None)) is not None
    }
    body: Any = None
    bodyless = action.method in ("GET", "DELETE") or action.body_format == "none"
    if action.body_param is not None:
        body = remaining.pop(action.body_param, None)
    elif not bodyless:
        body, remaining = _wire(action, remaining), {}
    if bodyless or action.body_param is not None:
        extra = {k: v for k, v in remaining.items() if v is not None}
        query.update({k: _query_value(v, None) for k, v in _wire(action, extra).items()})
    url = root + _fill_path(action.path, params)
    headers = {**definition.headers, **action.headers, **sent_headers}
    shown = {"app": definition.slug, "action": action.name, "method": action.method, "url": url}
    shown |= {"query": dict(query)} if query else {}
    shown |= {"body": body} if body is not None else {}
    # The connection's credentials join below; a credential the user put in the parameters
    # is hidden as an http step hides it.
    shown = redact_request(shown)
    auth_headers, auth_query = auth_parts(definition, credentials)
    headers |= auth_headers
    query |= auth_query
    request = PreparedRequest(
        action.method, url, headers, query, shown=shown, auth_query=dict(auth_query)
    )
    if body is not None:
        if action.body_format == "form":
            request.content = urlencode(form_pairs(body)).encode()
            request.headers.setdefault("content-type", "application/x-www-form-urlencoded")
        else:
            request.json = body
    return request


def _with_defaults(definition: AppDefinition, fields: dict[str, Any]) -> dict[str, Any]:
    """Connection fields with each empty one's declared default (a server variable's)."""
    defaults = {f.name: f.default for f in definition.form_fields if f.default is not None}
    return defaults | {k: v for k, v in fields.items() if v not in (None, "")}


def auth_parts(
    definition: AppDefinition, credentials: dict[str, Any] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, query parameters) that carry a connection's credentials."""
    auth = definition.auth
    if isinstance(auth, KeyAuth):
        fields = (credentials or {}).get("fields", {})
        headers = {fill(k, fields): fill(v, fields) for k, v in auth.headers.items()}
        if auth.basic is not None:
            pair = f"{fill(auth.basic.get('username', ''), fields)}:"
            pair += fill(auth.basic.get("password", ""), fields)
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        if auth.cookies:
            headers["cookie"] = "; ".join(
                f"{name}={fill(value, fields)}" for name, value in auth.cookies.items()
            )
        return headers, {k: fill(v, fields) for k, v in auth.query.items()}
    if isinstance(auth, OAuth2Auth) and credentials:
        return {"authorization": f"Bearer {credentials['access_token']}"}, {}
    return {}, {}
