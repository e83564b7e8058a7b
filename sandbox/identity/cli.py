"""`python -m sandbox register-client`: registers (or re-keys) the portal as an OAuth client."""

from __future__ import annotations

import argparse
import json
import os

DEFAULT_CLIENT_NAME = "NovaCron Partner Portal"


def register_client(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox register-client",
        description="Create or update a confidential OAuth client (authorization code + PKCE, RS256 ID "
        "tokens). Every run issues a new client secret; the client id stays.",
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        required=True,
        dest="redirect_uris",
        help="an allowed redirect URI (repeat for several)",
    )
    parser.add_argument(
        "--name", default=DEFAULT_CLIENT_NAME, help=f"client name (default: {DEFAULT_CLIENT_NAME})"
    )
    parser.add_argument(
        "--base-url",
        default=os.environ.get("SANDBOX_BASE_URL", "http://127.0.0.1:8001"),
        help="where the sandbox is served, to print the issuer (default: $SANDBOX_BASE_URL "
        "or http://127.0.0.1:8001)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print {client_id, client_secret, issuer} as JSON"
    )
    args = parser.parse_args(argv)

    from django.core.exceptions import ValidationError

    from sandbox.identity.services import client_register

    try:
        application, secret = client_register(name=args.name, redirect_uris=args.redirect_uris)
    except ValidationError as error:
        parser.error("; ".join(error.messages))
    issuer = f"{args.base_url.rstrip('/')}/oauth"
    if args.json:
        print(json.dumps({"client_id": application.client_id, "client_secret": secret, "issuer": issuer}))
    else:
        print(f"client name:   {application.name}")
        print(f"client_id:     {application.client_id}")
        print(f"client_secret: {secret}")
        print(f"issuer:        {issuer}")
        print(f"redirect URIs: {application.redirect_uris}")
    return 0
