from __future__ import annotations

from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("novacron/<str:partner_id>/", views.receive, name="receive"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
]
