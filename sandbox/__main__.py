"""Command line of the sandbox: `python -m sandbox serve|seed|partner-credentials|tick|churn|register-client|…`.

Anything that is not a sandbox command goes to Django's management (`migrate`, `makemigrations`, …).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")
    import django

    django.setup()
    command = args[0] if args else "help"
    if command == "serve":
        from sandbox.cli import serve

        return serve(args[1:])
    if command == "seed":
        from sandbox.cli import seed

        return seed(args[1:])
    if command == "partner-credentials":
        from sandbox.cli import partner_credentials

        return partner_credentials(args[1:])
    if command == "usage-month":
        from sandbox.cli import usage_month

        return usage_month(args[1:])
    if command == "tick":
        from sandbox.cli import tick

        return tick(args[1:])
    if command == "churn":
        from sandbox.cli import churn

        return churn(args[1:])
    if command == "register-client":
        from sandbox.identity.cli import register_client

        return register_client(args[1:])
    from django.core.management import execute_from_command_line

    execute_from_command_line(["python -m sandbox", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
