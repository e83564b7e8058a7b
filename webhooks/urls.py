"""The receiver and notifications under `webhooks/`, the partner admins' webhook pages under
`partner/webhooks/`; one namespace. Included at the site's root, so the paths here are whole."""

from __future__ import annotations

from django.urls import path

from webhooks import subscription_views, views

app_name = "webhooks"

urlpatterns = [
    path("webhooks/novacron/<str:partner_id>/", views.receive, name="receive"),
    path("webhooks/notifications/", views.notifications, name="notifications"),
    path("webhooks/notifications/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("partner/webhooks/", subscription_views.webhook_list, name="webhook_list"),
    path("partner/webhooks/new/", subscription_views.webhook_create, name="webhook_create"),
    path("partner/webhooks/received/", subscription_views.received_log, name="received_log"),
    path(
        "partner/webhooks/received/<int:pk>/payload/",
        subscription_views.received_payload,
        name="received_payload",
    ),
    path(
        "partner/webhooks/received/<int:pk>/reprocess/",
        subscription_views.received_reprocess,
        name="received_reprocess",
    ),
    path(
        "partner/webhooks/<str:subscription_id>/delete/",
        subscription_views.webhook_delete,
        name="webhook_delete",
    ),
    path(
        "partner/webhooks/<str:subscription_id>/rotate/",
        subscription_views.webhook_rotate_secret,
        name="webhook_rotate_secret",
    ),
    path(
        "partner/webhooks/<str:subscription_id>/test/",
        subscription_views.webhook_send_test,
        name="webhook_send_test",
    ),
    path(
        "partner/webhooks/<str:subscription_id>/deliveries/",
        subscription_views.webhook_deliveries,
        name="webhook_deliveries",
    ),
    path(
        "partner/webhooks/<str:subscription_id>/deliveries/<str:delivery_id>/redeliver/",
        subscription_views.delivery_redeliver,
        name="delivery_redeliver",
    ),
]
