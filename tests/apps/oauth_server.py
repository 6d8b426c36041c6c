"""A real OAuth2 authorization server (Authlib on Flask) with one protected API, on 127.0.0.1.

Authorization code with PKCE (S256 required), refresh tokens rotated on use (each accepted
once, token requests one at a time), RFC 7009
revocation. The authorize endpoint approves at once for the one test user (the browser's
part), or, with `consent_page`, shows an Allow/Deny page as a provider does.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

CLIENT_ID = "weft-test-client"
CLIENT_SECRET = "client-secret-never-shown-5e1d"


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uri: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_post", "client_secret_basic")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token:
    client_id: str
    access_token: str
    refresh_token: str | None
    scope: str
    issued_at: float
    expires_in: int
    revoked: bool = False
    access_revoked: bool = False  # the access token alone dropped early (a 401 while valid)

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked or self.access_revoked

    def get_user(self) -> str:
        return "user-1"

    def get_client(self) -> Client:
        return STATE.clients[self.client_id]


@dataclass
class ServerState:
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    tokens: list[Token] = field(default_factory=list)
    grants_seen: list[str] = field(default_factory=list)
    revoked_seen: list[str] = field(default_factory=list)
    api_calls: list[str] = field(default_factory=list)
    refresh_attempts: list[str] = field(default_factory=list)  # every refresh token presented
    consent_page: bool = False  # ask the user (a page with Allow and Deny) instead of approving

    def token(self, value: str) -> Token | None:
        for token in self.tokens:
            if value in (token.access_token, token.refresh_token):
                return token
        return None


STATE = ServerState()
TOKEN_LOCK = threading.Lock()

# Posted back to /authorize with the same query (the form has no action), as providers do.
CONSENT_PAGE = """<!doctype html><meta charset=utf-8><title>Allow access?</title>
<meta name=viewport content="width=device-width">
<h1>Weft wants to read your contacts</h1>
<form method=post><button name=decision value=allow autofocus>Allow</button>
<button name=decision value=deny>Deny</button></form>"""


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        STATE.codes[code] = Code(
            code,
            request.client.client_id,
            request.payload.redirect_uri,
            request.payload.scope or "",
            data.get("code_challenge"),
            data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = STATE.codes.get(code)
        return found if found and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        STATE.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: Code) -> str:
        STATE.grants_seen.append("authorization_code")
        return "user-1"


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        STATE.refresh_attempts.append(refresh_token)
        token = STATE.token(refresh_token)
        if token and token.refresh_token == refresh_token and not token.revoked:
            return token
        return None

    def authenticate_user(self, credential: Token) -> str:
        STATE.grants_seen.append("refresh_token")
        return "user-1"

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.revoked = True


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return STATE.token(token_string)

    def revoke_token(self, token: Token, request: Any) -> None:
        STATE.revoked_seen.append(token.refresh_token or token.access_token)
        token.revoked = True


class Validator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> Token | None:
        found = STATE.token(token_string)
        return found if found and found.access_token == token_string else None


def _save_token(token: dict[str, Any], request: Any) -> None:
    STATE.tokens.append(
        Token(
            client_id=request.client.client_id,
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            scope=token.get("scope", ""),
            issued_at=time.time(),
            expires_in=token["expires_in"],
        )
    )


def build_app(expires_in: int) -> Flask:
    app = Flask("oauth-test-server")
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": expires_in,
        "refresh_token": expires_in,
    }
    server = AuthorizationServer(app, query_client=STATE.clients.get, save_token=_save_token)
    server.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)
    protect = ResourceProtector()
    protect.register_token_validator(Validator())

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        grant = server.get_consent_grant(end_user="user-1")
        if not STATE.consent_page:
            # The user approves at once: this stands in for the provider's consent page.
            return server.create_authorization_response(grant=grant, grant_user="user-1")
        if request.method == "GET":
            return CONSENT_PAGE
        allowed = request.form.get("decision") == "allow"
        return server.create_authorization_response(
            grant=grant, grant_user="user-1" if allowed else None
        )

    @app.post("/token")
    def issue_token() -> Any:
        # One token request at a time, so a rotated refresh token is used once, strictly.
        with TOKEN_LOCK:
            return server.create_token_response()

    @app.post("/revoke")
    def revoke_token() -> Any:
        return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

    @app.get("/crm/v3/objects/contacts/<contact_id>")
    @protect()
    def contact(contact_id: str) -> Any:
        STATE.api_calls.append(current_token.access_token)
        return jsonify({"id": contact_id, "properties": {"email": "ada@example.com"}})

    return app


class OAuthTestServer:
    """Runs the server in a thread; `register(redirect_uri)` adds the Weft client."""

    def __init__(self, expires_in: int = 3600) -> None:
        global STATE
        STATE = ServerState()
        self.state = STATE
        self.http = make_server("127.0.0.1", 0, build_app(expires_in), threaded=True)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.thread = threading.Thread(
            target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def app_settings(self) -> dict[str, str]:
        """An OAuth2 app's org settings (`PUT /application/{slug}/settings`) for this server."""
        return {
            "base_url": self.url,
            "authorize_url": f"{self.url}/authorize",
            "token_url": f"{self.url}/token",
            "revoke_url": f"{self.url}/revoke",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }

    def register(self, redirect_uri: str) -> None:
        self.state.clients[CLIENT_ID] = Client(CLIENT_ID, CLIENT_SECRET, redirect_uri)

    def close(self) -> None:
        self.http.shutdown()
