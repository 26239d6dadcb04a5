"""Installs and runs the real components of the end-to-end tests, on 127.0.0.1 only.

* Debian packages (``prometheus`` brings ``prometheus`` and ``promtool``; ``prometheus-blackbox-exporter``;
  ``docker-compose``), installed with apt-get when missing (CI runs as root on a fresh machine).
* Python tools in their own virtual environments under ``.e2e/`` (gitignored), so that Arize Phoenix's
  ~850 MB of dependencies never meet the project's: Phoenix and rotel, pinned. A venv is reused when
  its stamp file names the same requirements.
* Servers started as child processes in their own process group, on ports chosen at run time, each
  with a log file; :meth:`Server.stop` ends the group it started (and only that) and is always called
  by the fixtures.

Every wait is bounded; a timeout fails with the tail of the component's log.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("GENAI_OTEL_E2E_CACHE", REPO_ROOT / ".e2e"))

# Pinned: these are what the tests were proven with.
PHOENIX_REQUIREMENTS = ("arize-phoenix==20.26.1",)
ROTEL_REQUIREMENTS = ("rotel==0.0.1a15",)  # rotel only publishes pre-releases

PIP_INSTALL_TIMEOUT = 900.0
APT_TIMEOUT = 900.0


# --- installation ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Two pytest processes (say, make -j) must not build the same venv at once."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(command: Sequence[str], timeout: float, what: str, env: Mapping[str, str] | None = None) -> None:
    started = time.monotonic()
    try:
        done = subprocess.run(
            list(command), capture_output=True, text=True, timeout=timeout, env=dict(env or os.environ)
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} did not finish within {timeout:.0f} s: {' '.join(command)}")
    if done.returncode != 0:
        pytest.fail(
            f"{what} failed ({done.returncode}): {' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    print(f"[e2e] {what}: {time.monotonic() - started:.1f} s", file=sys.stderr)


def apt_install(packages: Sequence[str]) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(
            f"{', '.join(packages)} missing and this is not a root Debian machine: "
            f"run `sudo apt-get install -y --no-install-recommends {' '.join(packages)}` first"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _install_lock():
        _run(["apt-get", "update", "-qq"], APT_TIMEOUT, "apt-get update", env)
        _run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
            APT_TIMEOUT,
            f"apt-get install {' '.join(packages)}",
            env,
        )


def ensure_debian_packages(binaries: Mapping[str, str]) -> dict[str, str]:
    """Path of each binary, installing its Debian package (binary -> package) when it is missing."""
    missing = sorted({package for binary, package in binaries.items() if shutil.which(binary) is None})
    if missing:
        apt_install(missing)
    paths = {}
    for binary in binaries:
        path = shutil.which(binary)
        if path is None:
            pytest.fail(f"{binary} still missing after installing {binaries[binary]}")
        paths[binary] = path
    return paths


def ensure_venv(name: str, requirements: Sequence[str], pip_args: Sequence[str] = ()) -> Path:
    """A virtual environment under .e2e/ holding ``requirements``; its directory."""
    venv = CACHE_DIR / f"venv-{name}"
    stamp = venv / ".genai-otel-e2e"
    wanted = json.dumps(sorted(requirements))
    with _install_lock():
        if stamp.exists() and stamp.read_text() == wanted:
            return venv
        if not (venv / "bin" / "python").exists():
            # The base interpreter, not this (project) venv: the tool must not see our packages.
            base = getattr(sys, "_base_executable", sys.executable)
            _run([base, "-m", "venv", str(venv)], 300, f"create venv {name}")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
        _run(
            [*pip, "install", *pip_args, *requirements],
            PIP_INSTALL_TIMEOUT,
            f"pip install {' '.join(requirements)}",
        )
        stamp.write_text(wanted)
    return venv


def rotel_agent() -> Path:
    """The rotel-agent binary, checked to run (it links the system's libpython, installed if missing)."""
    venv = ensure_venv("rotel", ROTEL_REQUIREMENTS, ["--pre"])
    agents = sorted(venv.glob("lib/python*/site-packages/rotel/rotel-agent"))
    if not agents:
        pytest.fail(f"no rotel-agent binary in {venv}")
    agent = agents[0]
    for attempt in range(2):
        done = subprocess.run([str(agent), "--version"], capture_output=True, text=True, timeout=30)
        if done.returncode == 0:
            return agent
        missing = re.search(r"(libpython\d+\.\d+)\S*\.so", done.stderr)
        if attempt == 0 and missing:
            # The binary embeds CPython for its Python processors and links Debian's libpython.
            apt_install([missing.group(1)])
            continue
        pytest.fail(f"rotel-agent does not run: {done.stderr.strip()}")
    return agent


# --- processes ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def http_json(url: str, timeout: float = 10.0) -> Any:
    status, body = http_get(url, timeout)
    if status != 200:
        raise AssertionError(f"GET {url}: HTTP {status}: {body[:500]!r}")
    return json.loads(body)


class Server:
    """A child process in its own process group, logging to a file."""

    def __init__(
        self, name: str, command: Sequence[str], log_dir: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.command = [str(part) for part in command]
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115  (closed in stop(), after the process)
        self.process = subprocess.Popen(
            self.command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env if env is not None else os.environ),
            cwd=log_dir,
            start_new_session=True,  # its own process group: stop() ends its children too
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> float:
        """Seconds it took until ``ready()``; fails with the log if the process dies or time runs out."""
        started = time.monotonic()
        while True:
            if self.process.poll() is not None:
                pytest.fail(
                    f"{self.name} exited ({self.process.returncode}) before {what}:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError, ValueError, AssertionError):
                if ready():
                    return time.monotonic() - started
            if time.monotonic() - started > timeout:
                pytest.fail(f"{self.name}: no {what} within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.25)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()


# --- the components -------------------------------------------------------------------------------
class Phoenix:
    """Arize Phoenix serving OTLP/HTTP on ``/v1/traces`` and its REST API on one loopback port."""

    def __init__(self, server: Server, port: int) -> None:
        self.server = server
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"

    def spans(self, project: str) -> list[dict[str, Any]]:
        spans: list[dict[str, Any]] = []
        cursor = None
        while True:
            url = f"{self.base_url}/v1/projects/{project}/spans?limit=1000"
            if cursor:
                url += f"&cursor={cursor}"
            status, body = http_get(url)
            if status == 404:  # the project does not exist until its first span arrives
                return []
            if status != 200:
                raise AssertionError(f"GET {url}: HTTP {status}: {body[:500]!r}")
            page = json.loads(body)
            spans.extend(page["data"])
            cursor = page.get("next_cursor")
            if not cursor:
                return spans

    def wait_for_spans(
        self, project: str, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        spans: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            spans = self.spans(project)
            if predicate(spans):
                # Phoenix inserts in batches: give a straggler of the same export a moment.
                time.sleep(1.0)
                return self.spans(project)
            time.sleep(0.5)
        names = sorted(span["name"] for span in spans)
        pytest.fail(
            f"Phoenix project {project}: expected spans did not arrive in {timeout:.0f} s; have {names}\n{self.server.log_tail()}"
        )


def start_phoenix(log_dir: Path) -> Phoenix:
    venv = ensure_venv("phoenix", PHOENIX_REQUIREMENTS)
    port, grpc_port = free_port(), free_port()
    working_dir = log_dir / "phoenix-data"
    working_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(working_dir),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        # Offline and quiet: no telemetry home, no CDN fonts or scripts.
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }
    launcher = Path(__file__).with_name("_phoenix_launcher.py")
    server = Server("phoenix", [venv / "bin" / "python", launcher, "serve"], log_dir, env)
    took = server.wait_until(
        lambda: http_get(f"http://127.0.0.1:{port}/healthz", 2)[0] == 200, 180, "/healthz"
    )
    print(f"[e2e] Phoenix ready in {took:.1f} s", file=sys.stderr)
    return Phoenix(server, port)


class Rotel:
    def __init__(self, server: Server, grpc_port: int, http_port: int) -> None:
        self.server = server
        self.grpc_endpoint = f"http://127.0.0.1:{grpc_port}"
        self.http_endpoint = f"http://127.0.0.1:{http_port}"


def start_rotel(name: str, log_dir: Path, otlp_http_target: str, processor: Path | None) -> Rotel:
    """rotel receiving OTLP on two free ports and forwarding traces over OTLP/HTTP to the target."""
    agent = rotel_agent()
    grpc_port, http_port = free_port(), free_port()
    command: list[Any] = [
        agent,
        "start",
        "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
        "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
        "--exporter", "otlp",
        "--otlp-exporter-endpoint", otlp_http_target,
        "--otlp-exporter-protocol", "http",
        # Forward quickly: the tests wait for the spans.
        "--batch-timeout", "100ms",
        "--log-file", log_dir / f"{name}-agent.log",
        "--pid-file", log_dir / f"{name}.pid",
    ]  # fmt: skip
    if processor is not None:
        command += ["--otlp-with-trace-processor", processor, "--otlp-with-logs-processor", processor]
    server = Server(name, command, log_dir)
    server.wait_until(lambda: port_open(http_port) and port_open(grpc_port), 30, "OTLP listeners")
    return Rotel(server, grpc_port, http_port)


class Prometheus:
    def __init__(self, server: Server, port: int) -> None:
        self.server = server
        self.base_url = f"http://127.0.0.1:{port}"

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.base_url}/api/v1/query?query={urllib.request.quote(promql)}"
        answer = http_json(url)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def api(self, path: str) -> Any:
        answer = http_json(f"{self.base_url}{path}")
        assert answer["status"] == "success", answer
        return answer["data"]


def start_prometheus(
    log_dir: Path,
    prometheus_bin: str,
    job: str,
    target_port: int,
    rule_files: Sequence[Path],
    scrape_configs: Sequence[Mapping[str, Any]] | None = None,
) -> Prometheus:
    """Prometheus scraping ``127.0.0.1:target_port`` as ``job``, or the given scrape configs."""
    port = free_port()
    config = log_dir / "prometheus.yml"
    if scrape_configs is None:
        scrape_configs = [{"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}]
    # Short intervals so that rate() windows fill and rules evaluate within seconds.
    config.write_text(
        json.dumps(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(path) for path in rule_files],
                "scrape_configs": list(scrape_configs),
            }
        )
    )
    command = [
        prometheus_bin,
        f"--config.file={config}",
        f"--storage.tsdb.path={log_dir / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    server = Server("prometheus", command, log_dir)
    server.wait_until(lambda: http_get(f"http://127.0.0.1:{port}/-/ready", 2)[0] == 200, 60, "/-/ready")
    return Prometheus(server, port)


class BlackboxExporter:
    def __init__(self, server: Server, port: int) -> None:
        self.server = server
        self.address = f"127.0.0.1:{port}"

    def probe(self, module: str, target: str) -> str:
        status, body = http_get(
            f"http://{self.address}/probe?module={module}&target={urllib.request.quote(target)}"
        )
        assert status == 200, body
        return body.decode()


def start_blackbox_exporter(log_dir: Path, binary: str, config: Path) -> BlackboxExporter:
    """Debian's prometheus-blackbox-exporter with the repository's modules, on a free loopback port."""
    port = free_port()
    command = [
        binary,
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    server = Server("blackbox-exporter", command, log_dir)
    server.wait_until(lambda: http_get(f"http://127.0.0.1:{port}/-/healthy", 2)[0] == 200, 30, "/-/healthy")
    return BlackboxExporter(server, port)
