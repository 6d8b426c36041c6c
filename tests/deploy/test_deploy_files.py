"""The Dockerfile, docker-compose.yml and the Helm chart keep the promises docs/deploy.md makes.

Fast and static: no container engine or cluster here. `make image-check` builds and runs the
image; `make chart-check` lints and renders the chart with Helm and Kubernetes' schemas.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from weft.settings import Settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "weft"
# The compose-spec project's schema (Apache-2.0, LICENSE.compose-spec beside it), as
# check-jsonschema vendors it: `docker compose config` is not installable here.
COMPOSE_SCHEMA = Path(__file__).with_name("compose-spec.json")
# Read by the image's entrypoint, not by Settings.
ENTRYPOINT_SETTINGS = {"WEFT_SECRET_KEY_FILE"}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def setting_names() -> set[str]:
    return {f"WEFT_{name.upper()}" for name in Settings.model_fields}


def test_image_is_multi_stage_and_runs_as_a_fixed_non_root_user() -> None:
    steps = dockerfile_instructions()
    stages = [args for op, args in steps if op == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    runtime = steps[[op for op, _ in steps].index("FROM", 2) :]
    assert ("COPY", "--from=build /opt/weft /opt/weft") in runtime
    assert not any(op == "RUN" and "pip" in args for op, args in runtime)
    assert ("USER", "10001:10001") in runtime
    assert "useradd --uid 10001" in dict(runtime)["RUN"]


def test_image_serves_weft_with_its_editor_checks_readyz_and_keeps_data_in_a_volume() -> None:
    steps = dockerfile_instructions()
    build_run = next(args for op, args in steps if op == "RUN" and "pip wheel" in args)
    assert "test -f src/weft/web/dist/index.html" in build_run
    assert (ROOT / "src/weft/web/dist/index.html").is_file()
    assert ("ENTRYPOINT", '["weft-entrypoint"]') in steps
    assert ("CMD", '["weft", "serve"]') in steps
    assert ("VOLUME", '["/var/lib/weft"]') in steps
    env = next(args for op, args in steps if op == "ENV" and "WEFT_DATA_DIR" in args)
    assert "WEFT_DATA_DIR=/var/lib/weft" in env and "WEFT_HOST=0.0.0.0" in env
    health = next(args for op, args in steps if op == "HEALTHCHECK")
    assert health.endswith('CMD ["weft-healthcheck"]')
    assert "/readyz" in (ROOT / "deploy/image/healthcheck.py").read_text()


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    assert (ROOT / ".dockerignore").read_text().splitlines()[2] == "*"
    sources = [
        args.split()[0]
        for op, args in dockerfile_instructions()
        if op == "COPY" and not args.startswith("--from")
    ] + ["README.md"]
    for source in sources:
        assert any(source.rstrip("/.").startswith(entry) for entry in allowed), source


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert [error.message for error in validator.iter_errors(compose())] == []
    broken = compose()
    broken["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_finished"
    assert list(validator.iter_errors(broken)), "the schema check must catch a wrong condition"


def test_compose_migrates_once_before_any_weft_process_starts() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, command in (("api", ["api"]), ("worker", ["worker"])):
        service = services[name]
        assert service["command"] == command
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert service["environment"]["WEFT_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert service["deploy"]["replicas"]
    assert services["nginx"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_compose_health_checks_every_long_running_service_that_serves() -> None:
    services = compose()["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["api"]["healthcheck"]["test"] == ["CMD", "weft-healthcheck"]
    assert "/readyz" in " ".join(services["nginx"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"] == {"disable": True}


def test_compose_trusts_forwarded_addresses_from_its_proxy_alone() -> None:
    document = compose()
    services = document["services"]
    trusted = services["api"]["environment"]["WEFT_TRUSTED_PROXIES"]
    proxy = services["nginx"]["networks"]["weft"]["ipv4_address"]
    subnet = document["networks"]["weft"]["ipam"]["config"][0]["subnet"]
    default = re.compile(r"\$\{[A-Z_]+:-([^}]+)\}")
    assert default.fullmatch(trusted)[1] == default.fullmatch(proxy)[1]
    assert ipaddress.ip_address(default.fullmatch(proxy)[1]) in ipaddress.ip_network(
        default.fullmatch(subnet)[1]
    )
    assert "WEFT_TRUSTED_PROXIES" not in services["worker"].get("environment", {})
    nginx = (ROOT / "deploy/compose/nginx.conf").read_text()
    assert "server api:8000 resolve;" in nginx
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx


def test_deploy_files_name_only_settings_weft_has() -> None:
    texts = [
        (ROOT / "docker-compose.yml").read_text(),
        (ROOT / "Dockerfile").read_text(),
        *(path.read_text() for path in (CHART / "templates").iterdir()),
    ]
    used = {name for text in texts for name in re.findall(r"\bWEFT_[A-Z0-9_]+\b", text)}
    compose_variables = {name for name in used if re.search(rf"\${{{name}[:}}]", texts[0])}
    unknown = used - setting_names() - ENTRYPOINT_SETTINGS - compose_variables
    assert unknown == set()


def values_paths(values: Any, prefix: str = "") -> set[str]:
    if not isinstance(values, dict):
        return set()
    paths = set()
    for key, value in values.items():
        paths.add(f"{prefix}{key}")
        paths |= values_paths(value, f"{prefix}{key}.")
    return paths


def test_chart_templates_read_only_values_that_values_yaml_documents() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    known = values_paths(values)
    templates = "\n".join(path.read_text() for path in (CHART / "templates").iterdir())
    referenced = set(re.findall(r"\.Values\.([A-Za-z0-9_.]+)", templates))
    assert referenced - known == set()
    # values of one component are read through `index $.Values $component`
    shared = values_paths(values["api"]) - {"processes"}
    assert shared == values_paths(values["worker"]) - {"loops"}


def test_chart_has_the_parts_a_cluster_needs() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "weft"
    template = {path.name: path.read_text() for path in (CHART / "templates").iterdir()}
    assert "kind: Deployment" in template["api.yaml"] and 'args: ["api"]' in template["api.yaml"]
    assert "kind: Deployment" in template["worker.yaml"] and '["worker"' in template["worker.yaml"]
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert re.search(
            rf"{probe}:\n\s+httpGet: {{path: {path}, port: http}}", template["api.yaml"]
        )
    job = template["migrate-job.yaml"]
    assert "kind: Job" in job and 'args: ["migrate"]' in job and "helm.sh/hook:" in job
    assert "pre-upgrade" in job
    assert "kind: Secret" in template["secret.yaml"] and "secret-key:" in template["secret.yaml"]
    assert "helm.sh/resource-policy: keep" in template["secret.yaml"]
    assert "kind: HorizontalPodAutoscaler" in template["scaling.yaml"]
    assert "kind: PodDisruptionBudget" in template["scaling.yaml"]
    assert "kind: StatefulSet" in template["postgresql.yaml"]
    for name in ("api.yaml", "worker.yaml", "migrate-job.yaml"):
        assert 'include "weft.podSecurity"' in template[name], name
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == 10001
    assert values["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_metrics_docs_deploy_md_names_exist() -> None:
    from weft.observability.metrics import REGISTRY

    exposed = set()
    for metric in REGISTRY.collect():
        exposed.add(metric.name + ("_total" if metric.type == "counter" else ""))
    named = set(re.findall(r"`(weft_[a-z_]+)", (ROOT / "docs" / "deploy.md").read_text()))
    assert named and named <= exposed, named - exposed
    assert exposed <= named, f"undocumented: {exposed - named}"
