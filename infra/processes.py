"""Background processes that outlive the command that started them.

Each managed process has a pid file and a log file under the run directory, so `up`
is idempotent (a live pid is reused), `down` stops only what `up` started, and a
failure can point at the log that explains it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["InfraError", "ManagedProcess", "port_is_open", "wait_until"]


class InfraError(RuntimeError):
    """A service could not be started; the message names the service and why."""


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def wait_until(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001 - a readiness probe failing just means "not yet"
            pass
        time.sleep(interval_s)
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as dead.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


@dataclass
class ManagedProcess:
    name: str
    command: Sequence[str]
    state_dir: Path
    ready: Callable[[], bool]
    port: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    start_timeout_s: float = 60.0

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.pid() is not None:
            if wait_until(self.ready, self.start_timeout_s):
                return
            raise InfraError(f"{self.name}: running (pid {self.pid()}) but not answering; see {self.log_file}")
        if self.port is not None and port_is_open(self.port):
            raise InfraError(
                f"{self.name}: port {self.port} is taken by another process; "
                f"free it or change the {self.name} port setting"
            )
        log = open(self.log_file, "ab")
        # start_new_session: the service must survive the CLI that launched it and not
        # receive the terminal's Ctrl-C.
        proc = subprocess.Popen(
            list(self.command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.cwd,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        self.pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise InfraError(f"{self.name}: exited with code {proc.returncode}; last log lines:\n{self.tail()}")
            try:
                if self.ready():
                    return
            except Exception:  # noqa: BLE001 - not ready yet
                pass
            time.sleep(0.2)
        raise InfraError(f"{self.name}: not ready after {self.start_timeout_s:.0f}s; last log lines:\n{self.tail()}")

    def stop(self, timeout_s: float = 20.0) -> bool:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        # SIGTERM to the whole session: scripts started in the background ignore SIGINT.
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not wait_until(lambda: not _pid_alive(pid), timeout_s):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            wait_until(lambda: not _pid_alive(pid), 5)
        self.pid_file.unlink(missing_ok=True)
        return True

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
