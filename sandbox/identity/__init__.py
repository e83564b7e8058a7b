"""Sandbox identity: users of partners, and the OAuth 2.0 / OpenID Connect authorization server."""
