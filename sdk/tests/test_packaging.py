from __future__ import annotations

import subprocess
import sys


def test_the_sdk_imports_nothing_from_django() -> None:
    code = (
        "import sys, novacron, novacron.oauth, novacron.webhooks; "
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'authlib')); "
        "print(leaked); sys.exit(1 if leaked else 0)"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_public_surface_is_importable_by_its_documented_names() -> None:
    from novacron import Client, SDKConfig
    from novacron.errors import error_from_response
    from novacron.oauth import AuthorizationRequest, OAuthConfig, OAuthProvider, Token
    from novacron.signing import sign_request
    from novacron.webhooks import construct_event, sign_payload, verify_signature

    assert all(
        callable(obj)
        for obj in (
            Client,
            SDKConfig,
            error_from_response,
            AuthorizationRequest,
            OAuthConfig,
            OAuthProvider,
            Token,
            sign_request,
            construct_event,
            sign_payload,
            verify_signature,
        )
    )
