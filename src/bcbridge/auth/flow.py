"""The httpx auth flow that puts the connection's bearer token on every BC request."""

from __future__ import annotations

from collections.abc import Generator

import httpx

from bcbridge.auth.tokens import TokenManager

__all__ = ["BCAuth"]


class BCAuth(httpx.Auth):
    """Bearer auth from a :class:`TokenManager`; on a 401, refresh once and replay.

    BC answers 401 for a missing, expired or revoked token (docs/bc/8-errors.md §8); one refresh and
    one replay cover a token that expired in flight, while a second 401 is returned to the
    caller (the app itself is not allowed in), so there is no loop.
    """

    def __init__(self, manager: TokenManager) -> None:
        self.manager = manager

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.manager.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = self.manager.refresh_after_401(token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
