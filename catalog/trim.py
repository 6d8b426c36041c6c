"""Cut a vendor's OpenAPI document down to the operations a shipped app exposes.

    python catalog/trim.py list DOC [--grep WORD]     the document's operations, one a line
    python catalog/trim.py trim DOC catalog/<slug>     keep what catalog/<slug>/app.yaml selects

`trim` writes catalog/<slug>/openapi.json (or .yaml, as DOC is) holding info, servers,
security, every securityScheme, the selected operations (with their path-level parameters)
and each component they reference, transitively. It prints the sha256 of DOC for app.yaml.
The whole vendor document is never committed: the trimmed one is what the importer reads and
what tests/apps/test_catalog_conformance.py checks every shipped action against.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def load(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) for every operation in the document."""
    found = []
    for path, item in (doc.get("paths") or {}).items():
        for method in METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                found.append((method.upper(), path, item[method]))
    return found


def matches(selector: str, method: str, path: str, operation: dict[str, Any]) -> bool:
    if " " in selector:
        want_method, want_path = selector.split(" ", 1)
        return want_method.upper() == method and want_path == path
    return operation.get("operationId") == selector


def refs_in(node: Any) -> set[str]:
    """Every local `$ref` target (`#/components/...`) inside node, discriminator mappings too."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                found.add(ref)
            mapping = (item.get("discriminator") or {}).get("mapping")
            if isinstance(mapping, dict):
                found |= {v for v in mapping.values() if isinstance(v, str) and v.startswith("#/")}
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def pointer(doc: dict[str, Any], ref: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in ref[2:].split("/")]


def lookup(doc: dict[str, Any], parts: list[str]) -> Any:
    node: Any = doc
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def trim(doc: dict[str, Any], selectors: list[str]) -> dict[str, Any]:
    kept_paths: dict[str, Any] = {}
    unmatched = set(selectors)
    for method, path, operation in operations(doc):
        for selector in selectors:
            if matches(selector, method, path, operation):
                unmatched.discard(selector)
                item = kept_paths.setdefault(path, {})
                source = doc["paths"][path]
                for shared in ("parameters", "servers", "summary", "description"):
                    if shared in source:
                        item[shared] = source[shared]
                item[method.lower()] = operation
    if unmatched:
        raise SystemExit(f"no operation matches {sorted(unmatched)}")
    out: dict[str, Any] = {"openapi": doc["openapi"]}
    info = doc.get("info") or {}
    out["info"] = {k: info[k] for k in ("title", "version", "license", "description") if k in info}
    for key in ("servers", "security", "jsonSchemaDialect"):
        if key in doc:
            out[key] = doc[key]
    out["paths"] = kept_paths
    components: dict[str, Any] = {}
    schemes = (doc.get("components") or {}).get("securitySchemes")
    if schemes:
        components["securitySchemes"] = schemes
    pending = refs_in(out)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        parts = pointer(doc, ref)
        target = lookup(doc, parts)
        if parts[0] != "components" or len(parts) < 3:
            raise SystemExit(f"unsupported reference {ref}")
        components.setdefault(parts[1], {})[parts[2]] = lookup(doc, parts[:3])
        pending |= refs_in(lookup(doc, parts[:3])) | refs_in(target)
    if components:
        out["components"] = {k: dict(sorted(v.items())) for k, v in sorted(components.items())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list")
    listing.add_argument("doc", type=Path)
    listing.add_argument("--grep", default="")
    cutting = sub.add_parser("trim")
    cutting.add_argument("doc", type=Path)
    cutting.add_argument("app_dir", type=Path)
    args = parser.parse_args()
    doc = load(args.doc)
    if args.command == "list":
        for method, path, operation in operations(doc):
            line = f"{method:7} {path}  {operation.get('operationId', '-')}  "
            line += str(operation.get("summary", ""))[:60]
            if args.grep.lower() in line.lower():
                print(line)
        return
    manifest = yaml.safe_load((args.app_dir / "app.yaml").read_text())
    selectors = [entry["operation"] for entry in manifest["operations"]]
    trimmed = trim(doc, selectors)
    suffix = ".json" if args.doc.suffix == ".json" else ".yaml"
    target = args.app_dir / f"openapi{suffix}"
    if suffix == ".json":
        target.write_text(json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n")
    else:
        target.write_text(yaml.safe_dump(trimmed, sort_keys=False, allow_unicode=True))
    digest = hashlib.sha256(args.doc.read_bytes()).hexdigest()
    print(f"wrote {target} ({target.stat().st_size} bytes); sha256 of {args.doc}: {digest}")


if __name__ == "__main__":
    sys.exit(main())
