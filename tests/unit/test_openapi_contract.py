"""The admin API's and ingest's OpenAPI documents are a contract: refactors must not change them.

The stored documents in tests/contract/ were written from main before issue 12 reshaped
`api/`; a difference here is a change clients (and the web app's generated types) would
see. New aggregation names (MIN, AVG) are the one sanctioned change, so every enum of
aggregation names is compared without them.

After a deliberate change of the contract, rewrite the stored documents with
`python -m tests.unit.test_openapi_contract` and review the diff.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest

from meterline.settings import Settings

CONTRACT_DIR = Path(__file__).resolve().parent.parent / "contract"
# Aggregations the issue adds; older documents do not list them.
_ADDED_AGGREGATIONS = {"MIN", "AVG"}


def _admin_document() -> dict[str, Any]:
    from api.app import create_app

    return create_app(Settings()).openapi()


def _ingest_document() -> dict[str, Any]:
    from meterline.bootstrap import ingest_app

    return ingest_app(Settings()).app.openapi()


_DOCUMENTS = {"admin_openapi.json": _admin_document, "ingest_openapi.json": _ingest_document}


def _without_added_aggregations(node: Any) -> Any:
    if isinstance(node, dict):
        normalised = {key: _without_added_aggregations(value) for key, value in node.items()}
        enum = normalised.get("enum")
        if isinstance(enum, list) and "COUNT" in enum:
            normalised["enum"] = [name for name in enum if name not in _ADDED_AGGREGATIONS]
        return normalised
    if isinstance(node, list):
        return [_without_added_aggregations(item) for item in node]
    return node


def _text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("filename", sorted(_DOCUMENTS), ids=lambda name: name.removesuffix("_openapi.json"))
def test_openapi_document_matches_the_stored_contract(filename: str) -> None:
    stored = json.loads((CONTRACT_DIR / filename).read_text())
    current = _DOCUMENTS[filename]()
    expected_text = _text(_without_added_aggregations(stored))
    actual_text = _text(_without_added_aggregations(current))
    if actual_text != expected_text:
        diff = "".join(difflib.unified_diff(expected_text.splitlines(keepends=True), actual_text.splitlines(keepends=True),
                                            fromfile=f"tests/contract/{filename}", tofile="the app's openapi()", n=3))
        pytest.fail(f"the OpenAPI document changed:\n{diff}", pytrace=False)


def test_the_normalisation_only_drops_added_aggregation_names() -> None:
    document = {"Meter": {"enum": ["COUNT", "SUM", "MIN", "AVG"]}, "channel": {"enum": ["email", "MIN"]}}

    assert _without_added_aggregations(document) == {"Meter": {"enum": ["COUNT", "SUM"]},
                                                     "channel": {"enum": ["email", "MIN"]}}


if __name__ == "__main__":
    for name, build in _DOCUMENTS.items():
        (CONTRACT_DIR / name).write_text(_text(build()))
        print(f"wrote {CONTRACT_DIR / name}")
