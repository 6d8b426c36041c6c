"""The shape of an app definition (one YAML file per app), validated when it is loaded."""

from __future__ import annotations

import re
import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from weft.apps.json_schema import schema_problem
from weft.apps.trigger_model import AppTrigger, PollingTrigger, WebhookTrigger, trigger_problems

SLUG = r"^[a-z0-9][a-z0-9_-]{0,99}$"
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

    @model_validator(mode="after")
    def _templates_name_fields(self) -> KeyAuth:
        known = {field.name for field in self.fields}
        templates = [*self.headers.keys(), *self.headers.values(), *self.query.values()]
        for template in [*templates, *(self.basic or {}).values()]:
            unknown = set(placeholders(template)) - known
            if unknown:
                raise ValueError(f"template {template!r} names unknown fields {sorted(unknown)}")
        return self


class OAuth2Auth(_Strict):
    """Authorization code with PKCE; the org supplies the client id and secret in its settings."""

    type: Literal["oauth2"] = "oauth2"
    authorize_url: str
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


Auth = Annotated[NoAuth | KeyAuth | OAuth2Auth, Field(discriminator="type")]


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
    body_format: Literal["json", "form"] = "json"
    headers: dict[str, str] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)
    effect: Literal["read", "write"]

    @field_validator("parameters")
    @classmethod
    def _object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type", "object") != "object":
            raise ValueError("parameters must be an object schema")
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

    @property
    def auth_type(self) -> str:
        """Refold's `auth_type`: `oauth2`, `keybased` or `none`."""
        return self.auth.type

    def action(self, name: str) -> Action | None:
        """The action called `name`, or None."""
        return next((action for action in self.actions if action.name == name), None)

    def trigger(self, name: str) -> PollingTrigger | WebhookTrigger | None:
        """The trigger called `name`, or None."""
        return next((trigger for trigger in self.triggers if trigger.name == name), None)


def placeholders(template: str) -> list[str]:
    """The `{name}` fields a template names (format-string syntax)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def fill(template: str, values: dict[str, Any]) -> str:
    """`template` with each `{name}` replaced by `values[name]` (missing: empty)."""
    return "".join(
        literal + (str(values.get(name, "")) if name else "")
        for literal, name, _, _ in string.Formatter().parse(template)
    )
