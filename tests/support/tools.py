"""Command-line tools the tests run for real, installed by the tests themselves when missing.

- Prometheus and promtool: Debian's `prometheus` package (apt-get as root), else fail
  saying how to install it.
- Chromium and nginx: Debian's `chromium` and `nginx` packages, the same way.
- Helm v4: `go install helm.sh/helm/v4/cmd/helm@HELM_VERSION` into the test run
  directory's `tools/bin` (Go's module and build caches make a second build quick).

Each fails the test with the reason, never skips: a check that did not run is not green.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from meterline.settings import PROJECT_ROOT

__all__ = ["HELM_VERSION", "tools_bin", "prometheus_binaries", "debian_binary", "helm_binary", "go_install"]

HELM_VERSION = "v4.3.2"


def tools_bin() -> Path:
    """Under the tests' run directory (.run/test), never beside a developer's own .run data."""
    run_dir = Path(os.environ.get("METERLINE_RUN_DIR", PROJECT_ROOT / ".run" / "test"))
    return run_dir / "tools" / "bin"


def _apt_install(package: str) -> str:
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "apt-get is missing or this is not root"
    install = ["apt-get", "install", "-y", "-q", package]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if result.returncode != 0:  # a fresh machine's package lists may be empty or old
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True, env=env, timeout=900)
        result = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    return "" if result.returncode == 0 else result.stderr[-2000:]


def prometheus_binaries() -> tuple[str, str]:
    """(prometheus, promtool), from Debian's `prometheus` package, installed when missing."""
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        failure = _apt_install("prometheus")
        if failure:
            pytest.fail("Prometheus is not installed and `apt-get install -y prometheus` failed "
                        f"({failure}). Install Debian's `prometheus` package (it brings promtool).", pytrace=False)
    return shutil.which("prometheus"), shutil.which("promtool")


def debian_binary(command: str, package: str) -> str:
    """The path of `command`, installing Debian's `package` when it is missing."""
    found = shutil.which(command) or next((p for p in (f"/usr/bin/{command}", f"/usr/sbin/{command}")
                                           if Path(p).exists()), None)
    if found is None:
        failure = _apt_install(package)
        found = shutil.which(command) or next((p for p in (f"/usr/bin/{command}", f"/usr/sbin/{command}")
                                               if Path(p).exists()), None)
        if failure or found is None:
            pytest.fail(f"{command} is not installed and `apt-get install -y {package}` failed ({failure}). "
                        f"Install Debian's `{package}` package.", pytrace=False)
    return found


def go_install(module: str, binary_name: str, bin_dir: Path | None = None) -> Path:
    """Build `module` (path@version) with `go install` into bin_dir (tools_bin()) unless it is there."""
    binary = (bin_dir or tools_bin()) / binary_name
    if binary.exists():
        return binary
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        pytest.fail(f"{binary_name} is not built and Go is missing: install Go (https://go.dev/dl/) so the test "
                    f"can run `go install {module}`", pytrace=False)
    binary.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([go, "install", module], env={**os.environ, "GOBIN": str(binary.parent)},
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0 or not binary.exists():
        pytest.fail(f"`go install {module}` failed:\n{result.stderr[-2000:]}", pytrace=False)
    return binary


def helm_binary() -> Path:
    return go_install(f"helm.sh/helm/v4/cmd/helm@{HELM_VERSION}", "helm")
