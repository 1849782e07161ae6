"""Scopes the emulated directory grants for BC (docs/bc/1-identity.md §1.1-§1.3)."""

from __future__ import annotations

from bcbridge.emulator.config import BC_SCOPE

__all__ = [
    "BC_RESOURCE",
    "DELEGATED_PERMISSIONS",
    "ScopeError",
    "describe",
    "granted",
    "parse_delegated",
]

BC_RESOURCE = BC_SCOPE.removesuffix("/.default")
#: BC's delegated permissions
#: (https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/developer/devenv-develop-connect-apps);
#: the ``scp`` claim of a delegated token lists them, space separated.
DELEGATED_PERMISSIONS = ("Financials.ReadWrite.All", "user_impersonation")
#: BC's application permission for APIs and web services (DOCS S2S page); ``roles`` claim.
APPLICATION_ROLES = ("API.ReadWrite.All",)
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")

_DESCRIPTIONS = {
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
    "offline_access": "Maintain access to data you have given it access to",
}


class ScopeError(ValueError):
    """A requested scope the directory does not know; the message is Entra's text."""


def parse_delegated(scope: str) -> list[str]:
    """Validate the ``scope`` of an authorize or refresh request.

    Returns:
        The scopes in request order without duplicates.

    Raises:
        ScopeError: A scope of another resource or an unknown BC permission, or no BC
            scope at all (AADSTS70011).
    """
    seen: list[str] = []
    for value in scope.split():
        if value in OIDC_SCOPES:
            pass
        elif value.startswith(BC_RESOURCE + "/"):
            if value.removeprefix(BC_RESOURCE + "/") not in (".default", *DELEGATED_PERMISSIONS):
                raise ScopeError(
                    "The provided value for the input parameter 'scope' is not "
                    f"valid. The scope '{value}' does not exist."
                )
        else:
            raise ScopeError(
                "The provided value for the input parameter 'scope' is not valid. "
                f"The scope '{value}' is not valid."
            )
        if value not in seen:
            seen.append(value)
    if not any(value.startswith(BC_RESOURCE + "/") for value in seen):
        raise ScopeError(
            "The provided value for the input parameter 'scope' is not valid. "
            f"Request a scope of {BC_RESOURCE}, e.g. '{BC_SCOPE}'."
        )
    return seen


def granted(scopes: list[str]) -> str:
    """The ``scope`` of a token response: BC permissions as full URIs, plus OIDC "
    "scopes asked for."""
    values = [f"{BC_RESOURCE}/{permission}" for permission in DELEGATED_PERMISSIONS]
    values += [value for value in scopes if value in OIDC_SCOPES]
    return " ".join(values)


def describe(scopes: list[str]) -> list[str]:
    """Consent-screen lines for ``scopes``."""
    lines = []
    if any(value.startswith(BC_RESOURCE + "/") for value in scopes):
        lines.append(
            "Access Dynamics 365 Business Central as you (" + ", ".join(DELEGATED_PERMISSIONS) + ")"
        )
    lines += [_DESCRIPTIONS[value] for value in scopes if value in _DESCRIPTIONS]
    return lines
