from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from portal import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("partner/", include("partners.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("live/", include("live.urls")),
    path("", include("vms.urls")),
]
