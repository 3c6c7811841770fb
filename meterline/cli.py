"""`meterline`: one command for the local stack, each service, migrations and the demo."""

from __future__ import annotations

import argparse
import sys

from meterline.operator_cli import add_commands as add_operator_commands, run_housekeeping, run_operator, run_tenants
from meterline.settings import Settings

__all__ = ["main"]


def _infra(settings: Settings, action: str) -> int:
    from infra import InfraError, infra_down, infra_status, infra_up

    if action == "up":
        try:
            infra_up(settings)
        except InfraError as exc:
            print(f"infra up failed: {exc}", file=sys.stderr)
            return 1
    elif action == "down":
        infra_down(settings)
    else:
        for status in infra_status(settings):
            print(f"{status.name:<11} {status.state:<9} {status.detail}")
    return 0


def _serve(settings: Settings, service: str) -> int:
    if service == "ingest":
        from meterline.bootstrap import serve_ingest as run
    elif service == "api":
        from meterline.bootstrap import serve_api as run
    elif service == "stream":
        from meterline.bootstrap import serve_stream as run
    elif service == "clickhouse":
        from meterline.bootstrap import serve_clickhouse as run
    else:
        from meterline.bootstrap import serve_flows as run
    run(settings)
    return 0


def _stack(settings: Settings, action: str) -> int:
    from infra import InfraError, infra_down, infra_up
    from infra.services import SERVICE_NAMES, service_process
    from meterline.bootstrap import migrate

    if action == "up":
        try:
            infra_up(settings)
            migrate(settings)
            for name in SERVICE_NAMES:
                service_process(settings, name).start()
                print(f"{name:<11} ready")
        except InfraError as exc:
            print(f"stack up failed: {exc}", file=sys.stderr)
            return 1
    else:
        for name in reversed(SERVICE_NAMES):
            stopped = service_process(settings, name).stop()
            print(f"{name:<11} {'stopped' if stopped else 'was not running'}")
        infra_down(settings)
    return 0


def _status(settings: Settings) -> int:
    from rich.console import Console

    from meterline.status import collect_status, render_status

    # Piped output (a test, `| less`) gets a wide page instead of rich's 80-column default,
    # so addresses and errors are not folded mid-word.
    render_status(collect_status(settings), Console() if sys.stdout.isatty() else Console(width=160))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meterline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    infra = commands.add_parser("infra", help="the real services: Kafka, PostgreSQL, ClickHouse, Stripe, Prefect")
    infra.add_argument("action", choices=["up", "down", "status"])
    stack = commands.add_parser("stack", help="infra plus Meterline's own services, in the background")
    stack.add_argument("action", choices=["up", "down"])
    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=["ingest", "stream", "api", "flows", "clickhouse"])
    commands.add_parser("status", help="one screen: services up or down, consumer lag, dead letters, last flow runs")
    commands.add_parser("migrate", help="bring the shared and every tenant schema to head")
    demo = commands.add_parser("demo", help="the whole pipeline on the embedded defaults")
    demo.add_argument("--events", type=int, default=20_000)
    add_operator_commands(commands)
    args = parser.parse_args(argv)

    settings = Settings()
    if args.command == "infra":
        return _infra(settings, args.action)
    if args.command == "stack":
        return _stack(settings, args.action)
    if args.command == "serve":
        return _serve(settings, args.service)
    if args.command == "status":
        return _status(settings)
    if args.command == "operator":
        return run_operator(settings, args)
    if args.command == "tenants":
        return run_tenants(settings, args)
    if args.command == "housekeeping":
        return run_housekeeping(settings, args)
    if args.command == "migrate":
        from meterline.bootstrap import migrate

        print(f"migrated shared schema and {len(migrate(settings))} tenant schemas")
        return 0
    from meterline.demo import run_demo

    return run_demo(settings, events=args.events)


if __name__ == "__main__":
    sys.exit(main())
