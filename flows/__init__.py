"""Prefect flows and their schedules; each task is a thin call into billing_jobs."""
