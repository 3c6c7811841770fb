"""`meterline operator create`, `meterline tenants purge-due` and `meterline housekeeping prune`:
the bootstrap, the purge and the housekeeping on a terminal.

Creating an operator here needs access to PostgreSQL (the settings), not the HTTP bootstrap
token: whoever runs it already holds the database. The password is read without echo, or
from standard input with --password-stdin (scripts), and follows the API's strength rule.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import datetime, timezone

from meterline.settings import Settings

__all__ = ["add_commands", "run_operator", "run_tenants", "run_housekeeping"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    operator = commands.add_parser("operator", help="operator accounts (finance, sre)")
    actions = operator.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create an operator account")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=["finance", "sre"])
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    tenants = commands.add_parser("tenants", help="tenant lifecycle jobs")
    tenants.add_argument("action", choices=["purge-due"], help="purge tenants whose deletion grace period is over")
    housekeeping = commands.add_parser("housekeeping", help="the daily housekeeping flow's prune, once, now")
    housekeeping.add_argument("action", choices=["prune"], help="delete used refresh tokens, ended sessions and "
                                                                "invitations past their retention")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the passwords differ")
    return first


def run_operator(settings: Settings, args: argparse.Namespace) -> int:
    from api.abuse_policy import password_problem
    from meterline.bootstrap import create_operator_account

    password = _password(args.password_stdin)
    problem = password_problem(password, [args.email], settings.api.password_min_length,
                               settings.api.password_min_score)
    if problem:
        print(f"password {problem}", file=sys.stderr)
        return 2
    created = asyncio.run(create_operator_account(settings, args.email, password, args.role))
    if created is None:
        print(f"an operator with the email {args.email} already exists", file=sys.stderr)
        return 1
    print(f"created operator {created.email} ({created.role}), id {created.id}")
    return 0


def run_tenants(settings: Settings, args: argparse.Namespace) -> int:
    from meterline.bootstrap import purge_due_tenants

    outcomes = purge_due_tenants(settings, datetime.now(timezone.utc))
    for outcome in outcomes:
        print(f"purged {outcome.slug} ({outcome.tenant_id}): {outcome.invoices_retained} invoices retained, "
              f"Stripe customer {outcome.stripe_customer_deleted or '-'} deleted")
    print(f"{len(outcomes)} tenants purged")
    return 0


def run_housekeeping(settings: Settings, args: argparse.Namespace) -> int:
    from meterline.bootstrap import prune_expired_records

    counts = prune_expired_records(settings, datetime.now(timezone.utc))
    print(f"deleted {counts.refresh_tokens} used refresh tokens, {counts.sessions} ended sessions (with their "
          f"tokens), {counts.invitations} ended invitations")
    return 0
