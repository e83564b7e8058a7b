"""The sandbox's own commands (see __main__.py): serve, seed, partner-credentials, tick, churn."""

from __future__ import annotations

import argparse
import json
import logging

from django.core.management import call_command


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument(
        "--no-engine", action="store_true", help="serve the API without the background engine"
    )
    args = parser.parse_args(argv)
    import uvicorn

    from sandbox.engine.runner import EngineThread

    call_command("migrate", interactive=False, verbosity=0)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    engine = None if args.no_engine else EngineThread()
    if engine is not None:
        engine.start()
    try:
        uvicorn.run(
            "sandbox.asgi:application", host=args.host, port=args.port, log_level="warning", lifespan="off"
        )
    finally:
        if engine is not None:
            engine.stop()
    return 0


def seed(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox seed")
    parser.add_argument("--vms", type=int, default=2000, help="VMs to create, split between partners")
    parser.add_argument("--partner", default=None, help="give every VM to this partner id")
    args = parser.parse_args(argv)
    from sandbox.core.seed import seed as run_seed

    call_command("migrate", interactive=False, verbosity=0)
    report = run_seed(vms=args.vms, only_partner=args.partner)
    print(f"Seeded: {report.vms_created} new VMs, {report.migrations_started} migrations started.")
    if report.logins:
        print("\nLogins (password as shown):")
        for login in report.logins:
            print(f"  {_login_line(login)}")
    print("\nPartner HMAC credentials:")
    _print_credentials(as_json=False)
    return 0


def _login_line(login: object) -> str:
    if isinstance(login, dict):
        return "  ".join(f"{key}={value}" for key, value in login.items())
    return str(login)


def _credentials() -> list[dict[str, str]]:
    from sandbox.core.models import APICredential

    rows = APICredential.objects.select_related("partner").filter(is_active=True).order_by("partner_id", "id")
    return [{"partner_id": c.partner_id, "name": c.partner.name, "tier": c.partner.tier, "api_key": c.api_key,
             "api_secret": c.api_secret} for c in rows]  # fmt: skip


def _print_credentials(*, as_json: bool) -> None:
    rows = _credentials()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(f"  {row['partner_id']:<18} {row['name']:<12} {row['tier']:<8} api_key={row['api_key']}  "
              f"api_secret={row['api_secret']}")  # fmt: skip


def partner_credentials(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox partner-credentials")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    _print_credentials(as_json=args.json)
    return 0


def usage_month(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox usage-month")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    from sandbox.engine.usage_month import run

    call_command("migrate", interactive=False, verbosity=0)
    print(json.dumps(run(seed=args.seed)))
    return 0


def tick(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="python -m sandbox tick").parse_args(argv)
    from sandbox.engine.runner import engine_step

    print(json.dumps(engine_step()))
    return 0


def churn(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox churn")
    parser.add_argument("--partner", required=True, help="the partner id whose VMs change")
    parser.add_argument("--vms", type=int, required=True, help="how many VMs to change")
    parser.add_argument("--delete-share", type=float, default=0.1, help="share of them deleted (0..1)")
    parser.add_argument("--seed", type=int, default=0, help="which VMs are chosen (deterministic)")
    args = parser.parse_args(argv)
    from sandbox.core.churn import vms_churn
    from sandbox.core.models import Partner

    partner = Partner.objects.get(partner_id=args.partner)
    report = vms_churn(partner=partner, count=args.vms, delete_share=args.delete_share, seed=args.seed)
    print(json.dumps(report.as_json()))
    return 0
