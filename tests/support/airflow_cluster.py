"""A real Airflow for tests: the scheduler, the dag-processor and the API server as separate
processes on a PostgreSQL metadata database, driven through the REST API with a login token.

Every process is started in its own process group and stopped by its id (TERM, then KILL), also
when the test fails. Logs of each process are kept under the cluster's home for the failure
message.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import ROOT

BIN = Path(sys.executable).parent
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
ADMIN = ("admin", "admin-password-for-tests")
FINISHED = {"success", "failed"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def airflow_env(home: Path, metadata_url: str, extra: dict[str, str]) -> dict[str, str]:
    """The environment every Airflow process of the cluster shares (one JWT secret, one API URL)."""
    from cryptography.fernet import Fernet

    port = free_port()
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DIASPORA_"))},
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "GX_ANALYTICS_ENABLED": "False",
        **extra,
    }


@dataclass
class AirflowCluster:
    home: Path
    env: dict[str, str]
    admin: tuple[str, str] = ADMIN
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _token: str | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['AIRFLOW__API__PORT']}"

    # --- lifecycle ---

    def run(self, *command: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """A one-off command (migrations, user creation) with the cluster's environment."""
        done = subprocess.run(
            command, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def deploy(self) -> None:
        """What a deploy does before the services start: Airflow's database, an admin who logs in
        to the API, the warehouse schema and reference data, the pool of warehouse tasks."""
        self.run(str(BIN / "airflow"), "db", "migrate")
        user, password = ADMIN
        self.run(
            str(BIN / "airflow"), "users", "create", "--username", user, "--password", password,
            "--role", "Admin", "--firstname", "Test", "--lastname", "Admin", "--email", "admin@example.org",
        )  # fmt: skip
        self.run(str(BIN / "diaspora"), "migrate")
        self.run(str(BIN / "diaspora"), "pool")

    def start(self, *services: str) -> None:
        """Airflow services (``scheduler``, ``api-server``, …) as separate processes."""
        for service in services:
            self.start_command(service, [str(BIN / "airflow"), *service.split()])

    def start_command(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        (self.home / "process-logs").mkdir(parents=True, exist_ok=True)
        log = open(self.home / "process-logs" / f"{name}.log", "w")  # noqa: SIM115 - kept open
        self.processes[name] = subprocess.Popen(
            command,
            env=env or self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its children
        )

    def stop(self) -> None:
        """Stop every process started, by its process group id: TERM, then KILL after 30 s."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for process in self.processes.values():
            try:  # children that outlived their leader (task processes)
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def process_log(self, service: str, tail: int = 4000) -> str:
        path = self.home / "process-logs" / f"{service}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def assert_running(self) -> None:
        dead = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        assert not dead, f"Airflow process(es) exited: {dead}\n" + "\n".join(
            f"--- {name}\n{self.process_log(name)}" for name in dead
        )

    # --- REST API ---

    def request(self, method: str, path: str, body: dict | None = None, authenticated: bool = True) -> object:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if authenticated:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.api_url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def token(self) -> str:
        """A JWT from the auth manager's login endpoint, as a production client gets one."""
        if self._token is None:
            user, password = self.admin
            answer = self.request("POST", "/auth/token", {"username": user, "password": password}, False)
            self._token = answer["access_token"]
        return self._token

    def wait_until_up(self, dag_ids: set[str], timeout: float = 240) -> None:
        """The API answers, the scheduler is alive and the dag-processor has parsed every DAG."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            self.assert_running()
            try:
                health = self.request("GET", "/api/v2/monitor/health", authenticated=False)
                parsed = {d["dag_id"] for d in self.request("GET", "/api/v2/dags?limit=100")["dags"]}
                if health["scheduler"]["status"] == "healthy" and dag_ids <= parsed:
                    return
                last = (health, sorted(parsed))
            except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError) as exc:
                last = exc
            time.sleep(2)
        raise AssertionError(f"Airflow did not come up in {timeout:.0f} s: {last}\n" + self._all_logs())

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str) -> str:
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        quoted = urllib.request.quote(run_id, safe="")
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=200")[
            "task_instances"
        ]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        quoted = urllib.request.quote(run_id, safe="")
        answer = self.request(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/logs/{try_number}"
            f"?full_content=true&map_index={map_index}",
        )
        content = answer.get("content") if isinstance(answer, dict) else answer
        if isinstance(content, list):
            return "\n".join(
                str(line.get("event", line)) if isinstance(line, dict) else str(line) for line in content
            )
        return str(content)

    def wait_for_runs(self, dag_ids: list[str], timeout: float = 900) -> dict[str, list[dict]]:
        """Poll until no run of these DAGs is queued or running; return every run of each."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_running()
            runs = {dag_id: self.runs(dag_id) for dag_id in dag_ids}
            if all(r["state"] in FINISHED for rs in runs.values() for r in rs) and all(runs.values()):
                return runs
            time.sleep(3)
        raise AssertionError(f"DAG runs did not finish in {timeout:.0f} s: {runs}\n" + self._all_logs())

    def failures(self, runs: dict[str, list[dict]]) -> list[str]:
        """Every failed run and every retried task, each with its task log: empty when all is well."""
        problems = []
        for dag_id, dag_runs in runs.items():
            for run in dag_runs:
                for ti in self.task_instances(dag_id, run["dag_run_id"]):
                    bad_state = run["state"] != "success" and ti["state"] in ("failed", "upstream_failed")
                    if (bad_state and ti["state"] == "failed") or ti["try_number"] > 1:
                        log = self.task_log(
                            dag_id,
                            run["dag_run_id"],
                            ti["task_id"],
                            max(1, ti["try_number"] - 1),
                            ti["map_index"],
                        )
                        problems.append(
                            f"{dag_id} {run['dag_run_id']} {ti['task_id']}[{ti['map_index']}] state "
                            f"{ti['state']} try {ti['try_number']}:\n{log[-4000:]}"
                        )
                if run["state"] != "success" and not problems:
                    problems.append(f"{dag_id} {run['dag_run_id']} ended {run['state']}")
        return problems

    def _all_logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.process_log(name, 2000)}" for name in self.processes)
