"""Debian's nginx as a plain process with the gateway's own configuration (infra/nginx/).

The site template is the one docker-compose's gateway image renders; here its ${METERLINE_*}
placeholders are filled the same way envsubst fills them there (only those names, so
nginx's own $variables stay), around infra/nginx/nginx.conf.template for a process that
writes its pid, logs and temporary files under the run directory.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from meterline.settings import PROJECT_ROOT

from .tools import debian_binary

__all__ = ["Gateway", "render", "running_gateway"]

NGINX_DIR = PROJECT_ROOT / "infra" / "nginx"
_PLACEHOLDER = re.compile(r"\$\{(METERLINE_[A-Z_]+)\}")


def render(template: str, values: dict[str, str]) -> str:
    """envsubst restricted to METERLINE_* names; a name without a value is an error, not a blank."""
    missing = sorted({name for name in _PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise KeyError(f"no value for {missing}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


@dataclass(frozen=True)
class Gateway:
    url: str
    prefix: Path

    def log(self) -> str:
        return (self.prefix / "error.log").read_text() if (self.prefix / "error.log").exists() else ""


def _wait_listening(port: int, process: subprocess.Popen, prefix: Path, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited {process.returncode}: {(prefix / 'error.log').read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on {port} within {timeout_s}s")


@contextmanager
def running_gateway(prefix: Path, port: int, api_port: int, ingest_port: int,
                    web_root: Path = PROJECT_ROOT / "web" / "dist") -> Iterator[Gateway]:
    nginx = debian_binary("nginx", "nginx")
    prefix.mkdir(parents=True, exist_ok=True)
    site = prefix / "meterline.conf"
    site.write_text(render((NGINX_DIR / "templates" / "meterline.conf.template").read_text(), {
        "METERLINE_GATEWAY_PORT": f"127.0.0.1:{port}", "METERLINE_API_UPSTREAM": f"127.0.0.1:{api_port}",
        "METERLINE_INGEST_UPSTREAM": f"127.0.0.1:{ingest_port}", "METERLINE_WEB_ROOT": str(web_root)}))
    main = prefix / "nginx.conf"
    main.write_text(render((NGINX_DIR / "nginx.conf.template").read_text(), {
        "METERLINE_GATEWAY_PREFIX": str(prefix), "METERLINE_GATEWAY_SITE": str(site)}))
    check = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(main)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused the gateway's configuration:\n{check.stderr}")
    process = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(main)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, process, prefix)
        yield Gateway(f"http://127.0.0.1:{port}", prefix)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
