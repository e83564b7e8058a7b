"""Identity URLs: sign-in pages at /accounts/, the authorization server under /oauth/.

The issuer is `<scheme>://<host>/oauth`, derived from each request, so the sandbox is a valid
issuer on whatever port it runs.
"""

from __future__ import annotations

from django.urls import include, path, re_path
from oauth2_provider import views as oauth_views

from sandbox.identity import views

# The namespace is DOT's own: its views build endpoint URLs with reverse("oauth2_provider:…").
oauth_patterns = (
    [
        path("authorize/", views.ConsentView.as_view(), name="authorize"),
        path("token/", oauth_views.TokenView.as_view(), name="token"),
        path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
        path("introspect/", views.OwnTokensIntrospectView.as_view(), name="introspect"),
        path("userinfo/", oauth_views.UserInfoView.as_view(), name="user-info"),
        path(".well-known/jwks.json", oauth_views.JwksInfoView.as_view(), name="jwks-info"),
        re_path(
            r"^\.well-known/openid-configuration/?$",
            views.DiscoveryView.as_view(),
            name="oidc-connect-discovery-info",
        ),
        path(
            ".well-known/oauth-authorization-server",
            oauth_views.OAuthServerMetadataView.as_view(),
            name="oauth-server-metadata",
        ),
    ],
    "oauth2_provider",
)

urlpatterns = [
    path("oauth/", include(oauth_patterns)),
    # Clients that look for discovery at the host root find the same document (issuer …/oauth).
    path(".well-known/openid-configuration", views.DiscoveryView.as_view(), name="root-openid-configuration"),
    # RFC 8414 places metadata for the issuer path /oauth here.
    path(
        ".well-known/oauth-authorization-server/oauth",
        oauth_views.OAuthServerMetadataView.as_view(),
        name="root-oauth-server-metadata",
    ),
    path("accounts/", views.account, name="account"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
]
