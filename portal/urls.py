from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from portal import audit_views, errors, views

urlpatterns = [
    # `/healthz` predates the split and keeps its meaning for existing load balancers: readiness.
    path("healthz", views.ready, name="healthz"),
    path("healthz/live", views.live, name="healthz-live"),
    path("healthz/ready", views.ready, name="healthz-ready"),
    path("healthz/status", views.status, name="healthz-status"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("partner/", include("integrations.urls")),
    # The receiver, notifications and the partner admins' webhook pages (`partner/webhooks/...`).
    path("", include("webhooks.urls")),
    path("live/", include("live.urls")),
    path("jobs/", include("jobs.urls")),
    # The audit log, for the partner's admins (portal/audit_views.py).
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    path("", include("usage.urls")),
    path("", include("vms.urls")),
]

# Error pages in the portal's layout (used when DEBUG is off).
handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
