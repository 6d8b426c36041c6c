"""The base URL from `servers[0]`; its variables become connection fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from weft.apps.model import KeyField
from weft.apps.openapi.naming import param_name

_VARIABLE = re.compile(r"\{([^{}]+)\}")


@dataclass
class Server:
    """A base URL template (`https://{region}.example.com`) and its variables as form fields."""

    base_url: str = ""
    fields: list[KeyField] = field(default_factory=list)
    defaults: dict[str, str] = field(default_factory=dict)  # field name -> default

    def filled(self) -> str:
        """The base URL with every variable at its default."""
        return self.base_url.format_map(self.defaults) if self.fields else self.base_url


def server_of(
    document: dict[str, Any], warnings: list[str], *, document_url: str | None = None
) -> Server:
    """`servers[0]` of the document (relative URLs against where the document came from)."""
    servers = [s for s in document.get("servers") or [] if isinstance(s, dict) and s.get("url")]
    if not servers:
        warnings.append("The document names no server: set base_url (manifest or app settings)")
        return Server()
    first = servers[0]
    url = str(first["url"])
    variables = first.get("variables") or {}
    taken: set[str] = set()
    names: dict[str, str] = {}
    fields: list[KeyField] = []
    defaults: dict[str, str] = {}
    for variable in _VARIABLE.findall(url):
        if variable in names:
            continue
        spec = variables.get(variable) if isinstance(variables.get(variable), dict) else {}
        name = names[variable] = param_name(variable, taken)
        default = str(spec.get("default", ""))
        choices = [str(choice) for choice in spec.get("enum") or []]
        hint = f"One of {', '.join(choices[:10])}" if choices else str(spec.get("description", ""))
        fields.append(
            KeyField(
                name=name,
                label=variable,
                placeholder=(hint or default)[:200],
                required=False,
                type="text",
                secret=False,
                default=default or None,
            )
        )
        defaults[name] = default
    template = _VARIABLE.sub(lambda match: "{" + names[match.group(1)] + "}", url)
    if not template.startswith(("http://", "https://")):
        if document_url and document_url.startswith(("http://", "https://")):
            template = urljoin(document_url, template)
        else:
            warnings.append(
                f"The server URL {url!r} is relative: set base_url (manifest or app settings)"
            )
    return Server(template.rstrip("/"), fields, defaults)
