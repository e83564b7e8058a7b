"""OpenID Connect discovery and keys: what a relying party reads before the first redirect."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_discovery_advertises_every_endpoint_under_the_oauth_issuer(client):
    metadata = client.get("/oauth/.well-known/openid-configuration").json()
    assert metadata["issuer"] == "http://testserver/oauth"
    assert metadata["authorization_endpoint"] == "http://testserver/oauth/authorize/"
    assert metadata["token_endpoint"] == "http://testserver/oauth/token/"
    assert metadata["revocation_endpoint"] == "http://testserver/oauth/revoke_token/"
    assert metadata["introspection_endpoint"] == "http://testserver/oauth/introspect/"
    assert metadata["userinfo_endpoint"] == "http://testserver/oauth/userinfo/"
    assert metadata["jwks_uri"] == "http://testserver/oauth/.well-known/jwks.json"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["id_token_signing_alg_values_supported"][0] == "RS256"
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    assert {"openid", "profile", "email", "vm:read", "vm:write", "migration:execute", "partner:admin"} <= set(
        metadata["scopes_supported"]
    )
    assert {"sub", "email", "name", "partner_id", "partner_role"} <= set(metadata["claims_supported"])


def test_the_root_alias_serves_the_same_document(client):
    assert (
        client.get("/.well-known/openid-configuration").json()
        == client.get("/oauth/.well-known/openid-configuration").json()
    )


def test_the_issuer_follows_the_host_and_port_the_sandbox_is_reached_on(client):
    metadata = client.get("/.well-known/openid-configuration", HTTP_HOST="127.0.0.1:18001").json()
    assert metadata["issuer"] == "http://127.0.0.1:18001/oauth"
    assert metadata["token_endpoint"] == "http://127.0.0.1:18001/oauth/token/"


def test_oauth_server_metadata_names_the_same_issuer(client):
    for path in (
        "/oauth/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/oauth",
    ):
        metadata = client.get(path).json()
        assert metadata["issuer"] == "http://testserver/oauth"
        assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_the_jwks_publishes_one_rsa_signing_key(client):
    keys = client.get("/oauth/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig"
    assert "d" not in keys[0]  # the public half only
