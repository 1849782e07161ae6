from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

# The ready site's admin pages are wide tables of BC data: the whole window goes to them (the
# index page lists every model; the header's breadcrumbs lead back to it).
admin.site.enable_nav_sidebar = False
admin.site.site_header = "bcbridge: Business Central bridge"
admin.site.site_title = "bcbridge"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("bcbridge/", include("bcbridge.urls")),
]
