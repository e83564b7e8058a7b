"""The request the portal's views get: `HttpRequest` plus what the middleware and decorators add.

Only for type checking: nothing here changes a request at run time. Views reachable by anyone
(sign-in, the webhook receiver, health, error pages) take a plain `HttpRequest`.
"""

from __future__ import annotations

import novacron
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User
from partners.models import Partner


class SignedInRequest(HttpRequest):
    """Behind `login_required`: a signed-in portal user, who may belong to no partner (staff)."""

    user: User
    # HtmxMiddleware.
    htmx: HtmxDetails
    # NovaCronClientMiddleware: the SDK client acting as this user, built on first use.
    novacron: novacron.Client


class PortalRequest(SignedInRequest):
    """Behind `partner_required` (every page of partner data): also the person's partner."""

    partner: Partner
