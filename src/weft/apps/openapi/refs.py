"""`$ref`s inside one OpenAPI document, looked up with `referencing` (local references only)."""

from __future__ import annotations

from typing import Any

from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from weft.apps.openapi.loading import InvalidDocument

_BASE = "urn:weft:openapi-document"
MAX_CHAIN = 32  # a $ref to a $ref to ...: real documents use two or three


class Refs:
    """Looks up `#/...` references of one document."""

    def __init__(self, document: dict[str, Any]) -> None:
        resource = Resource(contents=document, specification=DRAFT202012)
        self._resolver = Registry().with_resource(_BASE, resource).resolver(base_uri=_BASE)

    def lookup(self, ref: str) -> Any:
        """What `ref` points at; 400 for a reference outside the document or to nowhere."""
        if not ref.startswith("#"):
            raise InvalidDocument(
                f"$ref {ref[:200]} points outside the document (only references inside it "
                "are followed: bundle the document first)"
            )
        try:
            return self._resolver.lookup(ref).contents
        except Unresolvable:
            raise InvalidDocument(f"$ref {ref[:200]} points nowhere in the document") from None

    def deref(self, node: Any) -> Any:
        """`node` with its `$ref` chain followed (a parameter, body, response, media type)."""
        for _ in range(MAX_CHAIN):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return node
            node = self.lookup(node["$ref"])
        raise InvalidDocument("A $ref chain is longer than 32 links (a loop?)")


def ref_name(ref: str) -> str:
    """The last segment of a reference: `#/components/schemas/Pet` -> `Pet`."""
    return ref.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
