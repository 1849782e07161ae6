"""The emulated directory's RS256 signing key: sign tokens, verify them, publish the JWKS."""

from __future__ import annotations

from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

__all__ = ["InvalidToken", "SigningKey"]


class InvalidToken(Exception):
    """The token is malformed, signed by another key, or not RS256."""


class SigningKey:
    """A fresh 2048-bit RSA key per emulator; its ``kid`` is the RFC 7638 thumbprint.

    Entra publishes its keys at ``/{tenant}/discovery/v2.0/keys`` and names the one that
    signed a token in the JWT header's ``kid`` (https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens).
    """

    def __init__(self) -> None:
        key = RSAKey.generate_key(2048, private=True)
        self.kid = key.thumbprint()
        self._key = RSAKey.import_key(
            key.as_dict(private=True), parameters={"kid": self.kid, "use": "sig", "alg": "RS256"}
        )
        self._public = KeySet.import_key_set({"keys": [self.public_jwk()]})

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK (``kty``, ``use``, ``kid``, ``alg``, ``n``, ``e``)."""
        return dict(self._key.as_dict(private=False))

    def jwks(self) -> dict[str, Any]:
        """``{"keys": [jwk]}``, the body of the JWKS endpoint."""
        return {"keys": [self.public_jwk()]}

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact RS256 JWT with ``typ``, ``alg`` and ``kid`` headers."""
        return jwt.encode({"typ": "JWT", "alg": "RS256", "kid": self.kid}, claims, self._key)

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of ``token`` when this key signed it; time claims are NOT checked here.

        Raises:
            InvalidToken: Malformed, not RS256, or a bad signature.
        """
        try:
            decoded = jwt.decode(token, self._public, algorithms=["RS256"])
        except (JoseError, ValueError, TypeError) as error:
            raise InvalidToken(str(error) or type(error).__name__) from error
        if decoded.header.get("kid") != self.kid:
            raise InvalidToken("unknown kid")
        return dict(decoded.claims)
