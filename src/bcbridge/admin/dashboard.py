"""A link to the dashboard (:mod:`bcbridge.views.dashboard`) on the admin index.

The admin's own ``admin/index.html`` comes before any app's template of that name, so the
link is added through ``admin.site.index_template``, and only when the project has not set
its own index template. The link appears only where ``bcbridge.urls`` is included.
"""

from __future__ import annotations

from django.contrib import admin

__all__ = ["INDEX_TEMPLATE"]

INDEX_TEMPLATE = "bcbridge/admin_index.html"

if admin.site.index_template is None:
    admin.site.index_template = INDEX_TEMPLATE
