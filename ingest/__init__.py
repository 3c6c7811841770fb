"""Meterline's ingest service: CloudEvents over HTTP into Kafka, acknowledged only when durable."""

from .app import create_app, run

__all__ = ["create_app", "run"]
