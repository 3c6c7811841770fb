"""The `web` section of the settings (METERLINE_WEB__*), apart so settings.py stays small."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

__all__ = ["WebSettings"]


class WebSettings(BaseModel):
    """The web app (web/, built by `make install`) that the admin API serves at `/`."""

    enabled: bool = True
    dist_dir: Path = Path(__file__).resolve().parent.parent / "web" / "dist"
    # The addresses the app shows: ingest in the developers' example, Prefect's UI to operators.
    # Empty: the embedded services' own (ingest's host and port, Prefect's UI on loopback).
    public_ingest_url: str = ""
    public_prefect_url: str = ""
