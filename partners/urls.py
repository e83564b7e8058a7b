from __future__ import annotations

from django.urls import path

from partners import views

app_name = "partners"

urlpatterns = [
    path("integrations/", views.integration_list, name="integration_list"),
    path("integrations/new/", views.integration_create, name="integration_create"),
    path("integrations/<str:integration_id>/edit/", views.integration_edit, name="integration_edit"),
    path("integrations/<str:integration_id>/delete/", views.integration_delete, name="integration_delete"),
    path("webhooks/", views.webhook_list, name="webhook_list"),
    path("webhooks/new/", views.webhook_create, name="webhook_create"),
    path("webhooks/received/", views.received_log, name="received_log"),
    path("webhooks/received/<int:pk>/payload/", views.received_payload, name="received_payload"),
    path("webhooks/received/<int:pk>/reprocess/", views.received_reprocess, name="received_reprocess"),
    path("webhooks/<str:subscription_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path("webhooks/<str:subscription_id>/rotate/", views.webhook_rotate_secret, name="webhook_rotate_secret"),
    path("webhooks/<str:subscription_id>/test/", views.webhook_send_test, name="webhook_send_test"),
    path("webhooks/<str:subscription_id>/deliveries/", views.webhook_deliveries, name="webhook_deliveries"),
    path(
        "webhooks/<str:subscription_id>/deliveries/<str:delivery_id>/redeliver/",
        views.delivery_redeliver,
        name="delivery_redeliver",
    ),
]
