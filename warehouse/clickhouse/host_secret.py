"""The embedded-ClickHouse host's credential: a random secret in a file only its owner reads.

Loopback is not a boundary (any local user or process can connect), and the host serves
every tenant's raw events, so it answers only requests that carry this secret.
`meterline infra up` creates the file (mode 0600) before it starts the host; the host
and every client read it from there (settings.clickhouse_host_secret_file).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["ensure_secret", "read_secret"]


def ensure_secret(path: Path) -> None:
    """Create the secret if there is none; kept across restarts so running clients keep working."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL with mode 0600: the file never exists with wider rights, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(32))


def read_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise RuntimeError(f"no ClickHouse host secret at {path}: run `meterline infra up` "
                           "(or point METERLINE_CLICKHOUSE__HOST_SECRET_FILE at the host's)") from None
