"""URLs of the bcbridge app; include them under any prefix (the ready site uses ``bcbridge/``)."""

from __future__ import annotations

from django.urls import path

from bcbridge.api import api
from bcbridge.views.dashboard import dashboard
from bcbridge.views.oauth import oauth_callback
from bcbridge.views.webhooks import receive

app_name = "bcbridge"

urlpatterns = [
    path("dashboard/", dashboard, name="dashboard"),
    path("oauth/callback/", oauth_callback, name="oauth-callback"),
    path("webhooks/<str:token>/", receive, name="webhook"),
    path("api/v1/", api.urls),  # REST API (bcbridge.api): /api/v1/docs, /api/v1/openapi.json
]
