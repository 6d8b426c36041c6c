"""The shape of an app definition (one YAML file per app), validated when it is loaded."""

from __future__ import annotations

import re
import string
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from weft.apps.call_model import (
    RESPONSE_PATH,
    CursorPagination,
    LinkPagination,
    PagePagination,
    Pagination,
    RateLimit,
)
from weft.apps.json_schema import schema_problem
from weft.apps.param_options import option_problems
from weft.apps.trigger_model import AppTrigger, PollingTrigger, WebhookTrigger, trigger_problems

SLUG = r"^[a-z0-9][a-z0-9_-]{0,99}$"
# Validation context key: the definition's schemas were checked when it was written.
CHECKED = "schemas_checked"
ACTION_NAME = r"^[a-z][a-z0-9_]{0,99}$"
_PLACEHOLDER = re.compile(r"\{(\+?)([A-Za-z_][A-Za-z0-9_]*)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KeyField(_Strict):
    """One input of a key-based connection form (Refold's `auth_type_options.keybased[]`)."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    label: str
    placeholder: str = ""
    required: bool = True
    type: Literal["text", "password", "url"] = "password"
    # Secret fields are sealed and never shown; others (a base URL, a header name) may be.
    secret: bool = True
    # Filled in when the user leaves the field empty (an OpenAPI server variable's default).
    default: str | None = None


class NoAuth(_Strict):
    """An app that needs no credentials."""

    type: Literal["none"] = "none"


class KeyAuth(_Strict):
    """Credentials typed by the user; `headers`/`query` say where they go (`{field}` fills in).

    `basic: {username, password}` (templates too) sends HTTP Basic authentication.
    """

    type: Literal["keybased"] = "keybased"
    fields: list[KeyField] = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    basic: dict[Literal["username", "password"], str] | None = None
    # Cookie name -> template (an OpenAPI apiKey `in: cookie`), sent in the `cookie` header.
    cookies: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _templates_name_fields(self) -> KeyAuth:
        known = {field.name for field in self.fields}
        templates = [*self.headers.keys(), *self.headers.values(), *self.query.values()]
        templates += list(self.cookies.values())
        for template in [*templates, *(self.basic or {}).values()]:
            unknown = set(placeholders(template)) - known
            if unknown:
                raise ValueError(f"template {template!r} names unknown fields {sorted(unknown)}")
        return self


class OAuth2Auth(_Strict):
    """OAuth2. `authorization_code` (with PKCE): the org supplies the client id and secret in
    its settings and each user connects in a browser. `client_credentials`: each user types a
    client id and secret (`fields`, a key-based form) and Weft fetches tokens with them."""

    type: Literal["oauth2"] = "oauth2"
    grant: Literal["authorization_code", "client_credentials"] = "authorization_code"
    authorize_url: str = ""
    token_url: str
    revoke_url: str | None = None
    scopes: list[str] = Field(default_factory=list)
    scope_separator: str = " "
    pkce: bool = True
    # How the client authenticates at the token endpoint (Notion wants HTTP Basic).
    token_auth: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    authorize_params: dict[str, str] = Field(default_factory=dict)
    # A token-response field that replaces the base URL (Salesforce's `instance_url`).
    base_url_from_token: str | None = None
    # client_credentials: the form (client_id, client_secret, server variables...).
    fields: list[KeyField] = Field(default_factory=list)

    @model_validator(mode="after")
    def _grant_needs(self) -> OAuth2Auth:
        if self.grant == "authorization_code" and not self.authorize_url:
            raise ValueError("the authorization_code grant needs an authorize_url")
        if self.grant == "client_credentials":
            names = {field.name for field in self.fields}
            if not {"client_id", "client_secret"} <= names:
                raise ValueError("client_credentials needs client_id and client_secret fields")
        return self


Auth = Annotated[NoAuth | KeyAuth | OAuth2Auth, Field(discriminator="type")]


class AppSource(_Strict):
    """Where an imported app's definition came from: the document, its version and licence."""

    url: str | None = None
    repository: str | None = None
    commit: str | None = None
    path: str | None = None
    version: str | None = None
    licence: str | None = None
    openapi: str | None = None  # the document's OpenAPI version (3.0.3, 3.1.0)
    sha256: str | None = None


class Action(_Strict):
    """One declared call: where it goes and how its parameters fill the request."""

    name: str = Field(pattern=ACTION_NAME)
    label: str
    description: str = ""
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    # `{name}` is filled URL-encoded; `{+name}` keeps slashes (a path the user gives).
    path: str = Field(pattern=r"^/")
    # JSON schema of the parameters (an object schema); `required` is enforced before calling.
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    # Parameters sent as query string; an object value spreads its keys.
    query: list[str] = Field(default_factory=list)
    # The parameter that is the whole body; unset: the remaining parameters form the body
    # (or the query, for GET and DELETE).
    body_param: str | None = None
    # `none`: the request has no body; parameters left over go to the query.
    body_format: Literal["json", "form", "none"] = "json"
    headers: dict[str, str] = Field(default_factory=dict)
    # Parameters sent as request headers (under their wire name).
    header_params: list[str] = Field(default_factory=list)
    # Parameter name -> name on the wire where they differ (`user_id` -> `user-id`): query,
    # header and top-level body names.
    wire_names: dict[str, str] = Field(default_factory=dict)
    # How a query parameter's array or object is spelled, where not as repeated keys
    # (OpenAPI `explode: false` and `deepObject`).
    query_styles: dict[str, Literal["comma", "space", "pipe", "deep_object"]] = Field(
        default_factory=dict
    )
    output: dict[str, Any] = Field(default_factory=dict)
    effect: Literal["read", "write"]
    # Kept only because a published workflow still calls it (the source document dropped it).
    deprecated: bool = False
    # Where the list is in the response (`data`, `results`, `$` for the body itself). An action
    # with `items` is a list action: it pages as the app's `pagination` says, unless it sets
    # its own `pagination` (`false`: it does not page). Not null: a stored definition is its
    # dump, in which an unset field and a null one look the same.
    items: str | None = Field(None, pattern=RESPONSE_PATH)
    pagination: Pagination | Literal[False] | None = None

    @field_validator("parameters")
    @classmethod
    def _object_schema(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if value.get("type", "object") != "object":
            raise ValueError("parameters must be an object schema")
        # Checking a schema against the metaschema costs ~10 ms an action: definitions Weft
        # ships or has stored were checked when written (tests/apps/test_shipped_definitions.py
        # for the shipped ones), so loading them again skips it.
        if (info.context or {}).get(CHECKED):
            return value
        if (problem := schema_problem(value)) is not None:
            raise ValueError(f"parameters is not a valid JSON Schema: {problem}")
        return value

    def path_params(self) -> list[str]:
        """Parameter names the path consumes."""
        return [name for _, name in _PLACEHOLDER.findall(self.path)]


class AppDefinition(_Strict):
    """A whole app: identity, auth, base URL and actions."""

    slug: str = Field(pattern=SLUG)
    name: str
    icon: str | None = None
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    auth: Auth = Field(default_factory=NoAuth)
    base_url: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    actions: list[Action] = Field(default_factory=list)
    # Polling and webhook triggers (apps.trigger_model): "when a deal is created in HubSpot".
    triggers: list[AppTrigger] = Field(default_factory=list)
    source: AppSource | None = None
    # How the app's list actions page (each may override) and how it says "slow down".
    pagination: Pagination | None = None
    rate_limit: RateLimit | None = None

    @model_validator(mode="after")
    def _unique_action_names(self) -> AppDefinition:
        names = [action.name for action in self.actions]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValueError(f"duplicate action names {sorted(duplicates)}")
        return self

    @model_validator(mode="after")
    def _triggers_name_actions(self) -> AppDefinition:
        problems = trigger_problems(self.triggers, {action.name for action in self.actions})
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _options_name_read_actions(self, info: ValidationInfo) -> AppDefinition:
        if (info.context or {}).get(CHECKED):
            return self  # checked when written, as the parameters' schemas
        effects = {action.name: action.effect for action in self.actions}
        problems = [
            problem
            for action in self.actions
            for problem in option_problems(action.name, action.parameters, effects)
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _paged_actions_are_reads_with_items(self) -> AppDefinition:
        for action in self.actions:
            if self.pagination_of(action) is None:
                continue
            if action.items is None:
                raise ValueError(f"action {action.name} pages but has no items path")
            if action.effect != "read":
                # Asking for the next page repeats the call: only reads may be repeated.
                raise ValueError(f"action {action.name} pages but its effect is not read")
        return self

    def pagination_of(
        self, action: Action
    ) -> CursorPagination | PagePagination | LinkPagination | None:
        """How `action` pages: its own `pagination`, else the app's for a list action."""
        if action.pagination is False:
            return None
        if action.pagination is not None:
            return action.pagination
        return self.pagination if action.items is not None else None

    @property
    def auth_type(self) -> str:
        """Refold's `auth_type`: `oauth2`, `keybased` or `none`.

        OAuth2 client credentials count as key-based: the user types them into a form.
        """
        return refold_auth_type(self.auth.type, getattr(self.auth, "grant", None))

    @property
    def form_fields(self) -> list[KeyField]:
        """The connection form's fields (empty for a browser-connected or keyless app)."""
        if isinstance(self.auth, KeyAuth | OAuth2Auth):
            return list(self.auth.fields)
        return []

    def action(self, name: str) -> Action | None:
        """The action called `name`, or None."""
        return next((action for action in self.actions if action.name == name), None)

    def trigger(self, name: str) -> PollingTrigger | WebhookTrigger | None:
        """The trigger called `name`, or None."""
        return next((trigger for trigger in self.triggers if trigger.name == name), None)


def refold_auth_type(kind: str, grant: str | None = None) -> str:
    """Refold's `auth_type` of an auth `type` (and OAuth2 grant): the form a user meets."""
    return "keybased" if kind == "oauth2" and grant == "client_credentials" else kind


def placeholders(template: str) -> list[str]:
    """The `{name}` fields a template names (format-string syntax)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def fill(template: str, values: dict[str, Any]) -> str:
    """`template` with each `{name}` replaced by `values[name]` (missing: empty)."""
    return "".join(
        literal + (str(values.get(name, "")) if name else "")
        for literal, name, _, _ in string.Formatter().parse(template)
    )
