"""Sign-in, sign-out, the consent screen and OIDC discovery of the sandbox authorization server."""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.views import AuthorizationView, ConnectDiscoveryInfoView, IntrospectTokenView
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from sandbox.identity.consent import ConsentPlan, consent_plan, consent_record, describe
from sandbox.identity.models import User
from sandbox.identity.profile import offline_access_honoured
from sandbox.identity.seed import DEMO_PASSWORD, demo_logins


class SignedInRequest(HttpRequest):
    """A request past `login_required` (or the consent view's own login check): a real user."""

    user: User


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True}))


class LoginView(auth_views.LoginView):
    template_name = "identity/login.html"
    form_class = EmailAuthenticationForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # A sandbox: the demo accounts are public knowledge, so the page lists them.
        return super().get_context_data(demo_logins=demo_logins(), demo_password=DEMO_PASSWORD, **kwargs)


@login_required
def account(request: SignedInRequest) -> HttpResponse:
    """Who is signed in, and what each application may do on their behalf."""
    consents = request.user.scope_consents.select_related("application").order_by("application__name")
    applications = [(consent.application.name, describe(sorted(consent.scopes))) for consent in consents]
    return render(request, "identity/account.html", {"applications": applications})


class LogoutView(auth_views.LogoutView):
    """POST signs out (Django's rule); GET asks first, so a plain link can lead here."""

    template_name = "identity/logged_out.html"
    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "identity/logout.html", {"next": request.GET.get("next", "")})


class ConsentView(AuthorizationView):
    """The authorize endpoint, consenting scope by scope.

    Scopes the user approved for this application before are not asked again; scopes the user's
    role does not allow are shown as such and left out of the token.
    """

    template_name = "identity/consent.html"

    def get(self, request: SignedInRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)

        prompt = set(request.GET.get("prompt", "").split())
        if "login" in prompt:
            return self.handle_prompt_login()
        scopes = offline_access_honoured(scopes, prompt)

        application = get_application_model().objects.get(client_id=credentials["client_id"])
        plan = consent_plan(user=request.user, application=application, requested=scopes)
        if not plan.needs_screen and "consent" not in prompt:
            return self._approve_silently(application, plan, credentials)
        if "none" in prompt:
            consent_required = oauth_errors.ConsentRequired(state=credentials.get("state"))
            return self.error_response(
                OAuthToolkitError(consent_required, credentials["redirect_uri"]), application
            )

        # The form carries the request through the Allow/Deny round trip in hidden fields.
        self.oauth2_data = {**credentials, "scope": scopes}
        if "claims" in credentials:
            self.oauth2_data["claims"] = json.dumps(credentials["claims"])
        context = self.get_context_data(form=self.get_form(), application=application, **_screen(plan))
        return self.render_to_response(context)

    def form_valid(self, form: forms.Form) -> HttpResponse:
        application = get_application_model().objects.get(client_id=form.cleaned_data["client_id"])
        # The scope field came back from the browser: decide again rather than trust it.
        plan = consent_plan(
            user=self.request.user, application=application, requested=form.cleaned_data["scope"].split()
        )
        allow = bool(form.cleaned_data.get("allow")) and bool(plan.scopes_to_issue)
        form.cleaned_data["allow"] = allow
        form.cleaned_data["scope"] = " ".join(plan.scopes_to_issue)
        self.success_url = None
        response = super().form_valid(form)
        # DOT's form_valid sets success_url once it has issued a code.
        if allow and cast("str | None", self.success_url):
            consent_record(user=self.request.user, application=application, scopes=plan.scopes_to_issue)
        return response

    def _approve_silently(
        self, application: Any, plan: ConsentPlan, credentials: dict[str, Any]
    ) -> HttpResponse:
        if isinstance(credentials.get("ui_locales"), list):
            credentials["ui_locales"] = " ".join(credentials["ui_locales"])
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=self.request,
                scopes=" ".join(plan.scopes_to_issue),
                credentials=credentials,
                allow=True,
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        return self.redirect(uri, application)


def _screen(plan: ConsentPlan) -> dict[str, Any]:
    return {
        "new_scopes": describe(plan.new),
        "granted_scopes": describe(plan.already_granted),
        "refused_scopes": describe(plan.refused_by_role),
        "nothing_to_grant": not plan.scopes_to_issue,
    }


class DiscoveryView(ConnectDiscoveryInfoView):
    """OpenID Provider metadata, completed with the revocation and introspection endpoints."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        metadata = json.loads(response.content)
        metadata["revocation_endpoint"] = self._get_endpoint_url(request, "revoke-token", required=True)
        metadata["introspection_endpoint"] = self._get_endpoint_url(request, "introspect", required=True)
        metadata["grant_types_supported"] = ["authorization_code", "refresh_token"]
        auth_methods = metadata["token_endpoint_auth_methods_supported"]
        metadata["revocation_endpoint_auth_methods_supported"] = auth_methods
        metadata["introspection_endpoint_auth_methods_supported"] = auth_methods
        discovery = JsonResponse(metadata)
        discovery["Access-Control-Allow-Origin"] = "*"
        return discovery


class OwnTokensIntrospectView(IntrospectTokenView):
    """RFC 7662 introspection that describes only tokens issued to the calling client.

    RFC 7662 (sections 2.2 and 4) lets the server answer `{"active": false}` to a caller it will not tell
    about a token. Any other client's token is answered that way, exactly like an unknown one, so
    a client cannot learn about another client's users or use a leaked token's description.
    """

    def authenticate_client(self, request: HttpRequest) -> bool:
        # DOT's version keeps no trace of which client authenticated; this one remembers it.
        core = self.get_oauthlib_core()
        oauthlib_request = OAuthlibRequest(*core._extract_params(request))
        authenticated = bool(core.server.request_validator.authenticate_client(oauthlib_request))
        if authenticated:
            request.introspecting_client = oauthlib_request.client  # type: ignore[attr-defined]
        return authenticated

    def verify_request(self, request: HttpRequest) -> tuple[bool, Any]:
        # The bearer alternative (a token with the `introspection` scope): its application is the caller.
        valid, oauthlib_request = super().verify_request(request)
        if valid:
            request.introspecting_client = oauthlib_request.client  # type: ignore[attr-defined]
        return valid, oauthlib_request

    def get_token_response(self, token_value: str | None = None) -> HttpResponse:
        if token_value is not None and not self._issued_to_caller(token_value):
            return JsonResponse({"active": False})
        return super().get_token_response(token_value)

    def _issued_to_caller(self, token_value: str) -> bool:
        caller = getattr(self.request, "introspecting_client", None)
        if caller is None:
            return False
        checksum = hashlib.sha256(token_value.encode("utf-8")).hexdigest()
        return get_access_token_model().objects.filter(token_checksum=checksum, application=caller).exists()
