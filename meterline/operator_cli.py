"""`meterline operator create|list|disable|enable|set-role`, `meterline tenants purge-due` and
`meterline housekeeping prune`: the bootstrap, the operators' accounts, the purge and the
housekeeping on a terminal.

Managing operators here needs access to PostgreSQL (the settings), not the HTTP bootstrap
token: whoever runs it already holds the database, and the bootstrap token stays able to
create accounts only. The password is read without echo, or from standard input with
--password-stdin (scripts), and follows the API's strength rule. Disabling an account or
changing its role applies to the tokens it already holds at their next request
(api/operator_deps.py), so offboarding does not wait for a token to expire.
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
    actions.add_parser("list", help="every operator account: email, role, created, disabled")
    for action, text in (("disable", "refuse the account's logins and tokens from now (offboarding)"),
                         ("enable", "let a disabled account sign in again")):
        actions.add_parser(action, help=text).add_argument("--email", required=True)
    set_role = actions.add_parser("set-role", help="change the account's role (applies at its next request)")
    set_role.add_argument("--email", required=True)
    set_role.add_argument("--role", required=True, choices=["finance", "sre"])
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
    if args.action == "create":
        return _create_operator(settings, args)
    from warehouse.postgres.operators import change_operator, list_operators

    if args.action == "list":
        accounts = asyncio.run(_on_operators(settings, list_operators))
        print(f"{'email':40} {'role':8} {'created':20} disabled")
        for a in accounts:
            print(f"{a.email:40} {a.role:8} {_when(a.created_at):20} {_when(a.disabled_at) if a.disabled_at else '-'}")
        print(f"{len(accounts)} operators")
        return 0
    changes = {"role": args.role} if args.action == "set-role" else {"disabled": args.action == "disable"}
    account = asyncio.run(_on_operators(settings, lambda conn: change_operator(conn, args.email, **changes)))
    if account is None:
        print(f"no operator with the email {args.email}", file=sys.stderr)
        return 1
    state = f"disabled since {_when(account.disabled_at)}" if account.disabled_at else "active"
    print(f"operator {account.email}: role {account.role}, {state}; applies to their tokens at their next request")
    return 0


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


async def _on_operators(settings: Settings, change):
    """`change(conn)` in one transaction of its own."""
    from meterline.bootstrap import pg_engine
    from warehouse.postgres.database import Database

    engine = pg_engine(settings)
    try:
        async with Database(engine).begin() as conn:
            return await change(conn)
    finally:
        await engine.dispose()


def _create_operator(settings: Settings, args: argparse.Namespace) -> int:
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
