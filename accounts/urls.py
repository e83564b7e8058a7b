from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path("login/", views.login_view, name="login"),
    path("callback/", views.callback, name="callback"),
    path("logout/", views.logout_view, name="logout"),
    path("grant/", views.grant, name="grant"),
    path("disconnect/", views.disconnect, name="disconnect"),
    path("time-zone/", views.time_zone_update, name="time_zone"),
    path("time-zone/detect/", views.time_zone_detect, name="time_zone_detect"),
]
