"""OIDC access tokens (JWTs) as bearer tokens, beside the platform's own.

An identity provider (Dex, Keycloak, Okta, Entra ID, Google) signs a JWT;
every service checks it on its own with the provider's published keys
(JWKS), so no call goes to the tracking service for it. The check is
PyJWT's, not ours: signature against the key its `kid` names, `iss`,
`aud`, `exp` and `nbf`, with the algorithms the settings allow. The role and
project come from claims (`oidc_role_claim`, `oidc_project_claim`); a token
without a known role is refused rather than given a default.

Settings: `oidc_issuer` (turns this on), `oidc_audience`, `oidc_jwks_url`
(default: the issuer's `/.well-known/jwks.json`).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from switchyard.core.auth import DEFAULT_PROJECT, JWT_ID_PREFIX, ROLES, Principal
from switchyard.core.config import Settings
from switchyard.errors import Unauthenticated

ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")
JWKS_CACHE_S = 300  # keys are fetched again after this; a new `kid` fetches at once


class OidcVerifier:
    """JWT -> Principal for one issuer; the keys fetched on first use and cached."""

    def __init__(self, settings: Settings) -> None:
        if not settings.oidc_issuer or not settings.oidc_audience:
            raise ValueError("OIDC needs both SWITCHYARD_OIDC_ISSUER and SWITCHYARD_OIDC_AUDIENCE")
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.jwks_url = settings.oidc_jwks_url or (
            self.issuer.rstrip("/") + "/.well-known/jwks.json"
        )
        self.role_claim = settings.oidc_role_claim
        self.project_claim = settings.oidc_project_claim
        self._keys: Any = None  # jwt.PyJWKClient, made on first use (imports PyJWT)

    async def principal(self, token: str) -> Principal:
        import jwt

        if self._keys is None:
            self._keys = jwt.PyJWKClient(self.jwks_url, cache_keys=True, lifespan=JWKS_CACHE_S)
        try:
            # fetching the keys is blocking I/O (urllib): off the event loop
            key = await asyncio.to_thread(self._keys.get_signing_key_from_jwt, token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthenticated(
                f"the identity provider's keys could not be read: {exc}"
            ) from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the JWT was refused: {exc}") from None
        return self._principal(token, claims)

    def _principal(self, token: str, claims: dict[str, Any]) -> Principal:
        role = claims.get(self.role_claim)
        if role not in ROLES:
            raise Unauthenticated(
                f"the JWT has no {self.role_claim!r} claim of viewer, editor or admin"
            )
        project = claims.get(self.project_claim) or DEFAULT_PROJECT
        if not isinstance(project, str):
            raise Unauthenticated(f"the JWT's {self.project_claim!r} claim is not a string")
        # an id that names the token without being it (the audit and errors show it)
        token_id = JWT_ID_PREFIX + hashlib.sha256(token.encode()).hexdigest()[:12]
        name = str(claims.get("email") or claims.get("preferred_username") or claims["sub"])
        return Principal(token_id, name[:100], project, ROLES[role], int(claims["exp"]) * 1000)
