"""bcbridge's own pages (outside the admin): the OAuth callback, later the dashboard."""
