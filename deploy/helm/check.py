"""`helm lint` and `helm template` of deploy/helm/weft, each manifest checked against Kubernetes'
schemas and the manifests' names against each other, for the chart's three shapes (external
PostgreSQL by URL, by existing Secrets, bundled).

`make chart-check` runs this. Helm itself comes from PyPI as helm-python-sdk (Helm's own Go SDK,
v4, through a C library: the same lint rules and template engine as the `helm` binary, which no
registry here ships); the schemas come from kubernetes-validate (kubeconform's role, strict: an
unknown field is an error). Both are installed into .deploy-tools/ by the Makefile.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import yaml

CHART = Path(__file__).resolve().parent / "weft"
KUBERNETES = "1.30.0"  # the oldest minor version the chart is checked on (Chart.yaml allows 1.25+)

SHAPES: dict[str, dict[str, Any]] = {
    "external PostgreSQL by URL": {
        "postgresql": {"external": {"url": "postgresql+asyncpg://weft:pw@db.example:5432/weft"}},
        "config": {"trustedProxies": "10.0.0.0/8", "publicUrl": "https://weft.example.com"},
    },
    "existing Secrets, no autoscaling": {
        "postgresql": {"external": {"existingSecret": "weft-db"}},
        "secretKey": {"existingSecret": "weft-key"},
        "api": {"autoscaling": {"enabled": False}, "replicas": 3},
        "extraEnv": {"WEFT_RETENTION_DAYS": "14"},
    },
    "bundled PostgreSQL, ingress, worker autoscaling": {
        "postgresql": {"bundled": True},
        "ingress": {"enabled": True, "className": "nginx"},
        "worker": {"autoscaling": {"enabled": True}},
    },
}


def lint(values: dict[str, Any]) -> list[str]:
    """helm lint's findings at warning level or above."""
    report = helm_python.lint(CHART, values, strict=True, kube_version=f"v{KUBERNETES}")
    found = [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= 2]
    return found + list(report.get("errors") or [])


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """helm template: every manifest the chart renders, hooks included."""
    chart = helm_python.Chart.load(CHART)
    rendered = chart.render(values, name="weft", namespace="weft", is_install=True)
    documents = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".txt"):  # NOTES.txt is shown, not applied
            continue
        documents += [doc for doc in yaml.safe_load_all(text) if doc]
    return documents


def validate(documents: list[dict[str, Any]]) -> list[str]:
    """Kubernetes' schema of each manifest, strictly."""
    problems = []
    for document in documents:
        try:
            kubernetes_validate.validate(document, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{document['kind']}/{document['metadata']['name']}: {error.message}")
    return problems


def pod_spec(document: dict[str, Any]) -> dict[str, Any]:
    return document["spec"]["template"]["spec"]


def wiring(documents: list[dict[str, Any]], values: dict[str, Any]) -> list[str]:
    """What the schemas cannot see: names that must point at each other."""
    problems: list[str] = []
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for document in documents:
        by_kind.setdefault(document["kind"], {})[document["metadata"]["name"]] = document
    existing = {
        values.get("secretKey", {}).get("existingSecret"),
        values.get("postgresql", {}).get("external", {}).get("existingSecret"),
    } - {None, ""}
    secrets = set(by_kind.get("Secret", {})) | existing
    workloads = {**by_kind["Deployment"], **by_kind["Job"], **by_kind.get("StatefulSet", {})}
    for name, workload in workloads.items():
        for container in pod_spec(workload)["containers"]:
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in secrets:
                    problems.append(f"{name}: {variable['name']} reads a missing Secret")
    # The migration hook runs before the release's own resources on install: any Secret it
    # reads must be a hook of an earlier weight, or exist already, or be created with the
    # release (the bundled database's, whose Job runs post-install).
    job = by_kind["Job"]["weft-migrate"]
    hook = job["metadata"]["annotations"]["helm.sh/hook"]
    ref = pod_spec(job)["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"]
    secret = by_kind.get("Secret", {}).get(ref)
    if hook.startswith("pre-install") and secret is not None:
        weight = secret["metadata"].get("annotations", {}).get("helm.sh/hook-weight")
        if weight is None or int(weight) >= 0:
            problems.append(f"weft-migrate (pre-install) reads {ref}, which is no earlier hook")
    api = pod_spec(by_kind["Deployment"]["weft-api"])["containers"][0]
    probes = {probe: api[probe]["httpGet"]["path"] for probe in ("livenessProbe", "readinessProbe")}
    if probes != {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}:
        problems.append(f"weft-api probes: {probes}")
    pods = by_kind["Deployment"]["weft-api"]["spec"]["template"]["metadata"]["labels"]
    selector = by_kind["Service"]["weft"]["spec"]["selector"]
    if not selector.items() <= pods.items():
        problems.append("Service weft selects no API pod")
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
        for name in by_kind.get(kind, {}):
            if name not in by_kind["Deployment"]:
                problems.append(f"{kind}/{name} has no Deployment of its name")
    return problems


def main() -> None:
    failed = False
    for shape, values in SHAPES.items():
        documents = render(values)
        problems = lint(values) + validate(documents) + wiring(documents, values)
        kinds = sorted(f"{d['kind']}" for d in documents)
        print(f"{shape}: {len(documents)} manifests ({', '.join(kinds)})")
        for problem in problems:
            print(f"  FAIL {problem}")
        failed = failed or bool(problems)
    if failed:
        sys.exit(1)
    print(f"chart-check: passed (helm {helm_python.helm_sdk_version()}, Kubernetes {KUBERNETES})")


if __name__ == "__main__":
    main()
