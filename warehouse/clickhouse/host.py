"""`meterline serve clickhouse`: the one process that owns the embedded chDB directory.

chDB is ClickHouse as a library with no server mode, and only one process may open its
directory (infra/README.md, "Who owns chDB, and why"). This process opens it with the
real clickhouse-connect chDB client and serves, on loopback, the three operations
Meterline performs: a query with parameters (rows and column names back), an insert of
rows into a table (with settings such as insert_deduplication_token), a raw insert of rows
already in a ClickHouse input format (the stream's bulk path: the engine parses them, not
Python) and a command (DDL). Values cross the wire in `wire.py`'s tagged JSON. It is a host for the engine,
not a ClickHouse: SQL, types, parameters and settings are the chDB client's to handle.
Every operation needs the host's secret as a bearer token (host_secret.py); /ping does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import clickhouse_connect
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meterline.logs import configure_logging, logging_config
from meterline.settings import ClickHouseSettings

from .host_secret import read_secret
from .wire import decode, decode_rows, encode, encode_rows

__all__ = ["build_host_app", "run"]

log = logging.getLogger("meterline.clickhouse_host")


def _json(body: dict, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class _ChdbHost:
    """The chDB client, opened in the app's lifespan, and the operations served on it."""

    def __init__(self, chdb_dsn: str):
        self._dsn = chdb_dsn
        # One thread for every chDB call: the engine is one per process, and its client is
        # not meant for concurrent use; callers queue here instead of failing.
        self._engine_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chdb")
        self._client = None

    async def call(self, fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(self._engine_thread, partial(fn, *args, **kwargs))

    def query(self, body: dict) -> dict:
        result = self._client.query(body["query"], parameters=decode(body.get("parameters")),
                                    settings=body.get("settings"))
        return {"column_names": list(result.column_names), "rows": encode_rows(result.result_rows)}

    def insert(self, body: dict) -> dict:
        summary = self._client.insert(body["table"], decode_rows(body["rows"]), column_names=body["column_names"],
                                      database=body.get("database"), settings=body.get("settings"))
        return {"summary": summary.summary}

    def raw_insert(self, table: str, column_names: list[str] | None, block: bytes, fmt: str,
                   settings: dict | None) -> dict:
        summary = self._client.raw_insert(table, column_names, insert_block=block, settings=settings, fmt=fmt)
        return {"summary": summary.summary}

    def command(self, body: dict) -> dict:
        result = self._client.command(body["cmd"], parameters=decode(body.get("parameters")),
                                      data=body.get("data"), settings=body.get("settings"))
        if hasattr(result, "summary"):  # a QuerySummary: the statement returned no rows
            return {"summary": result.summary}
        return {"result": encode(result)}

    def endpoint(self, operation):
        async def handle(request: Request) -> Response:
            try:
                return _json(await self.call(operation, orjson.loads(await request.body())))
            except Exception as exc:  # noqa: BLE001 - the engine's error goes back to the caller as is
                return _json({"error": str(exc), "type": type(exc).__name__}, status=500)

        return handle

    async def raw_insert_endpoint(self, request: Request) -> Response:
        """Rows already in a ClickHouse input format (the body), parsed by the engine itself:
        no per-value decoding here. Table, columns, format and settings in the query string."""
        q = request.query_params
        try:
            columns = q["columns"].split(",") if q.get("columns") else None
            settings = orjson.loads(q["settings"]) if q.get("settings") else None
            return _json(await self.call(self.raw_insert, q["table"], columns, await request.body(), q["format"],
                                         settings))
        except Exception as exc:  # noqa: BLE001 - the engine's error goes back to the caller as is
            return _json({"error": str(exc), "type": type(exc).__name__}, status=500)

    async def ping(self, request: Request) -> Response:
        is_open = self._client is not None
        return Response("Ok.\n" if is_open else "opening\n", status_code=200 if is_open else 503)

    @contextlib.asynccontextmanager
    async def lifespan(self, app):
        self._client = await self.call(clickhouse_connect.get_client, dsn=self._dsn)
        log.info("chDB open at %s", self._dsn)
        try:
            yield
        finally:
            client, self._client = self._client, None
            await self.call(client.close)
            self._engine_thread.shutdown(wait=True)


def _requires_secret(handler, secret: str):
    expected = f"Bearer {secret}".encode()

    async def guarded(request: Request) -> Response:
        if not secrets.compare_digest(request.headers.get("authorization", "").encode(), expected):
            return _json({"error": "the ClickHouse host needs its secret (clickhouse.host_secret_path)",
                          "type": "Unauthorized"}, status=401)
        return await handler(request)

    return guarded


def build_host_app(chdb_dsn: str, secret: str) -> Starlette:
    host = _ChdbHost(chdb_dsn)
    return Starlette(
        routes=[Route("/ping", host.ping),
                Route("/query", _requires_secret(host.endpoint(host.query), secret), methods=["POST"]),
                Route("/insert", _requires_secret(host.endpoint(host.insert), secret), methods=["POST"]),
                Route("/raw_insert", _requires_secret(host.raw_insert_endpoint, secret), methods=["POST"]),
                Route("/command", _requires_secret(host.endpoint(host.command), secret), methods=["POST"])],
        lifespan=host.lifespan,
    )


def run(config: ClickHouseSettings, chdb_dir: Path) -> None:
    """Serve the chDB directory `chdb_dir` on the section's loopback port."""
    import uvicorn

    if not config.is_embedded:
        raise SystemExit("METERLINE_CLICKHOUSE__URL is set: there is no chDB directory to host")
    chdb_dir.mkdir(parents=True, exist_ok=True)
    configure_logging("clickhouse-host")
    # Loopback only, and a secret even so: any local process can reach loopback.
    secret = read_secret(config.host_secret_path)
    uvicorn.run(build_host_app(f"chdb://{chdb_dir}", secret), host="127.0.0.1", port=config.port,
                log_level="warning", access_log=False, log_config=logging_config("clickhouse-host"))
