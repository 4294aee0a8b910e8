"""Access-token verification against an OIDC issuer's published keys.

jwks = JwksCache(issuer=settings.oidc_issuer)
verifier = TokenVerifier(settings.oidc_issuer, settings.oidc_audience, jwks)
principal = await verifier.verify(bearer_token)  # or TokenRejected(reason, detail)
"""

from voiceassist_common.tokens.jwks import (
    JwksCache,
    JwksRefreshPolicy,
    JwksUnavailableError,
    UnknownSigningKeyError,
)
from voiceassist_common.tokens.principal import Principal, Role
from voiceassist_common.tokens.rejection import RejectionReason, TokenRejected
from voiceassist_common.tokens.verifier import ASYMMETRIC_ALGORITHMS, TokenVerifier

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "JwksCache",
    "JwksRefreshPolicy",
    "JwksUnavailableError",
    "Principal",
    "RejectionReason",
    "Role",
    "TokenRejected",
    "TokenVerifier",
    "UnknownSigningKeyError",
]
