"""URL map of the sandbox: the Partner API, health, fault injection, counters and the identity (OAuth) pages."""

from __future__ import annotations

from django.urls import include, path

from sandbox.api.root import api
from sandbox.api.views import counters_view, faults_view, healthz

urlpatterns = [
    path("api/v1/", api.urls),
    path("healthz", healthz),
    path("sandbox/faults", faults_view),
    path("sandbox/counters", counters_view),
    path("", include("sandbox.identity.urls")),
]
