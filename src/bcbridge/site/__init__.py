"""The ready site: bcbridge as a standalone Django project (``bcbridge.site.settings``)."""
