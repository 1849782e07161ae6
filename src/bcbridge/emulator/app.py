"""The emulator's single WSGI application: one handler for the real port and for httpx."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from bcbridge.emulator.bc import BusinessCentral, environments
from bcbridge.emulator.clock import Clock
from bcbridge.emulator.config import EmulatorConfig
from bcbridge.emulator.control import Control
from bcbridge.emulator.errors import BCError, bc_error_response
from bcbridge.emulator.identity import Identity

if TYPE_CHECKING:
    from collections.abc import Iterable
    from wsgiref.types import StartResponse, WSGIEnvironment

    import httpx

__all__ = ["Emulator"]

logger = logging.getLogger("bcbridge.emulator")

# /{tenant}/oauth2/v2.0/{authorize,token}, /{tenant}/v2.0/.well-known/openid-configuration,
# /{tenant}/discovery/v2.0/keys (docs/bc/1-identity.md §1.1), the device code flow's
# /{tenant}/oauth2/v2.0/devicecode and /common/oauth2/deviceauth, and MSAL's instance
# discovery /common/discovery/instance
_IDENTITY_PATH = re.compile(
    r"^/(?P<tenant>[^/_][^/]*)/(?P<endpoint>oauth2/v2\.0/authorize|oauth2/v2\.0/token"
    r"|v2\.0/\.well-known/openid-configuration|discovery/v2\.0/keys"
    r"|oauth2/v2\.0/devicecode|oauth2/deviceauth|discovery/instance)/?$"
)


class Emulator:
    """BC online and Entra ID in one WSGI callable.

    Args:
        config: The tenant, environment, app registration and data settings; defaults to
            :class:`EmulatorConfig` ().

    Attributes:
        identity: The Entra ID side (authorize, token, discovery, JWKS, token checks).
        bc: The Business Central side (API v2.0, custom APIs, web services).
        control: The ``/_emulator/`` control API, also callable from Python.
        clock: Shared clock; advance it to expire tokens and subscriptions.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.clock = Clock()
        self.identity = Identity(self)
        self.bc = BusinessCentral(self)
        self.control = Control(self)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.get_data()  # read the whole body up front: a kept-alive connection stays in step
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route one request to identity, BC or the control API."""
        path = request.path
        try:
            if path.startswith("/_emulator/") or path == "/_emulator":
                return self.control.handle(request)
            if path.startswith("/v2.0/"):
                return self.control.guard(request, self.bc.handle)
            if environments.matches(path):
                return self.control.guard(request, lambda r: environments.handle(self, r))
            match = _IDENTITY_PATH.match(path)
            if match:
                return self.identity.handle(request, match["tenant"], match["endpoint"])
            return bc_error_response(
                404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{path}'."
            )
        except BCError as error:
            return error.response()
        except Exception:  # a bug in the emulator must still answer like a server would
            logger.exception("emulator failed on %s %s", request.method, path)
            return bc_error_response(500, "Internal_ServerError", "The emulator failed to process the request.")

    def transport(self) -> httpx.WSGITransport:
        """An httpx transport that serves requests in-process, without a socket."""
        import httpx

        return httpx.WSGITransport(app=self)
