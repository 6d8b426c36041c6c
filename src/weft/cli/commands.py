"""The commands: serve, migrate, org, linked-account, token, secrets, app, workflow, template,
demo."""

from __future__ import annotations

from weft.cli.admin import account_app, org_app, secrets_app, token_app
from weft.cli.apps import app_app
from weft.cli.server import app
from weft.cli.templates import template_app
from weft.cli.workflow_files import workflow_app  # also adds `org push` and `org pull`

app.add_typer(org_app, name="org")
app.add_typer(account_app, name="linked-account")
app.add_typer(token_app, name="token")
app.add_typer(secrets_app, name="secrets")
app.add_typer(app_app, name="app")
app.add_typer(workflow_app, name="workflow")
app.add_typer(template_app, name="template")

__all__ = ["app"]
