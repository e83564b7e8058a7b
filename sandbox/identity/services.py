"""Writes of the identity app that are not part of the OAuth flow itself."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AbstractApplication, get_application_model


@transaction.atomic
def client_register(*, name: str, redirect_uris: Sequence[str]) -> tuple[AbstractApplication, str]:
    """Creates or updates the named confidential client; returns it with a fresh plain-text secret.

    The client id stays the same across runs, so a registered portal keeps working; the secret is
    new every time because only its hash is stored.
    """
    application_model = get_application_model()
    application = application_model.objects.select_for_update().filter(name=name).order_by("pk").first()
    if application is None:
        application = application_model(name=name)
    secret = generate_client_secret()
    application.client_secret = secret
    application.hash_client_secret = True
    application.client_type = application_model.CLIENT_CONFIDENTIAL
    application.authorization_grant_type = application_model.GRANT_AUTHORIZATION_CODE
    application.algorithm = application_model.RS256_ALGORITHM
    application.redirect_uris = " ".join(dict.fromkeys(redirect_uris))
    application.skip_authorization = False
    application.full_clean(exclude=["client_id", "user"])
    application.save()
    return application, secret
