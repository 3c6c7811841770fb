"""What the browser tests share: signing in through the form, screenshots, and reading numbers
off the page the way a person would (the text on screen, grouping separators removed)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.support.web import AppTenant

__all__ = ["sign_in", "sign_in_operator", "shot", "shown_decimal", "en_us_quantity"]


def sign_in(page, base_url: str, tenant: AppTenant) -> None:
    page.goto(base_url + "/sign-in")
    page.get_by_label("Email").fill(tenant.email)
    page.get_by_label("Password").fill(tenant.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()


def sign_in_operator(page, base_url: str, email: str, password: str, heading: str = "Operator console") -> None:
    page.goto(base_url + "/sign-in")
    page.get_by_role("tab", name="Operator").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name=heading).wait_for()


def shot(page, directory: Path, name: str) -> Path:
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def shown_decimal(text: str) -> Decimal:
    """A quantity as shown in en-US ("99,257.75") as the exact decimal it stands for."""
    return Decimal(text.strip().replace(",", ""))


def en_us_quantity(value: str) -> str:
    """How the app writes the API's decimal string in en-US: grouped, every digit kept."""
    whole, _, fraction = value.partition(".")
    sign = "-" if whole.startswith("-") else ""
    grouped = f"{int(whole.lstrip('-')):,}"
    return f"{sign}{grouped}{'.' + fraction if fraction else ''}"
