"""The client for the embedded-ClickHouse host (`host.py`), shaped like clickhouse-connect's.

It offers the subset of clickhouse-connect's `Client` that Meterline calls, with the
same parameter names and return shapes: `query(...).result_rows`/`.column_names`,
`insert(table, rows, column_names=..., settings=...)`, `raw_insert(table, column_names,
insert_block, settings=..., fmt=...)`, `command(...)`. Anything else
is deliberately missing, so a new use fails loudly here rather than silently
differing between chDB and a ClickHouse server. Engine errors are raised as
clickhouse-connect's `DatabaseError`, as the stock client raises them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from clickhouse_connect.driver.summary import QuerySummary

from .wire import decode, decode_rows, encode, encode_rows

__all__ = ["HostClient", "HostQueryResult"]


@dataclass(frozen=True)
class HostQueryResult:
    column_names: tuple[str, ...]
    result_rows: list[tuple]

    @property
    def row_count(self) -> int:
        return len(self.result_rows)

    @property
    def first_row(self) -> tuple:
        return self.result_rows[0]

    @property
    def first_item(self) -> dict:
        return dict(zip(self.column_names, self.result_rows[0]))

    def named_results(self):
        return (dict(zip(self.column_names, row)) for row in self.result_rows)


class HostClient:
    def __init__(self, base_url: str, secret: str, timeout_s: float = 60.0) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s, headers={"Authorization": f"Bearer {secret}"})

    def _post(self, path: str, body: dict | bytes, params: dict | None = None) -> dict:
        try:
            raw = isinstance(body, bytes)
            response = self._http.post(path, content=body if raw else orjson.dumps(body), params=params,
                                       headers={"content-type": "application/octet-stream" if raw else "application/json"})
        except httpx.HTTPError as exc:
            raise OperationalError(f"the embedded ClickHouse host at {self.base_url} is not reachable: {exc}") from exc
        answer = orjson.loads(response.content)
        if response.status_code != 200:
            raise DatabaseError(answer.get("error") or f"host answered {response.status_code}")
        return answer

    def query(self, query: str, parameters: dict[str, Any] | Sequence | None = None,
              settings: dict[str, Any] | None = None) -> HostQueryResult:
        answer = self._post("/query", {"query": query, "parameters": encode(parameters), "settings": settings})
        return HostQueryResult(tuple(answer["column_names"]), decode_rows(answer["rows"]))

    def insert(self, table: str, data: Sequence[Sequence[Any]], column_names: Sequence[str] | str = "*",
               database: str | None = None, settings: dict[str, Any] | None = None) -> QuerySummary:
        answer = self._post("/insert", {
            "table": table, "rows": encode_rows(data),
            "column_names": column_names if isinstance(column_names, str) else list(column_names),
            "database": database, "settings": settings})
        return QuerySummary(answer["summary"])

    def raw_insert(self, table: str, column_names: Sequence[str] | None = None, insert_block: bytes = b"",
                   settings: dict[str, Any] | None = None, fmt: str | None = None) -> QuerySummary:
        """Rows already encoded in a ClickHouse input format `fmt` (e.g. JSONCompactEachRow),
        as clickhouse-connect's `raw_insert`: the engine parses them."""
        params = {"table": table, "format": fmt or "Native"}
        if column_names:
            params["columns"] = ",".join(column_names)
        if settings:
            params["settings"] = orjson.dumps(settings).decode()
        return QuerySummary(self._post("/raw_insert", bytes(insert_block), params)["summary"])

    def command(self, cmd: str, parameters: dict[str, Any] | Sequence | None = None, data: str | None = None,
                settings: dict[str, Any] | None = None):
        answer = self._post("/command", {"cmd": cmd, "parameters": encode(parameters), "data": data,
                                         "settings": settings})
        if "summary" in answer:
            return QuerySummary(answer["summary"])
        return decode(answer["result"])

    def ping(self) -> bool:
        try:
            return self._http.get("/ping").status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        self._http.close()
