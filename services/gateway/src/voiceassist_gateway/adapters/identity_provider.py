"""The gateway's back channel to the OIDC provider, as the confidential client `voiceassist-web`.

The backend-for-frontend (docs/adr/0007) exchanges the authorization code, refreshes access
tokens and ends sessions server-side, so the browser never holds a token. The provider is the
built-in one of the auth service or Keycloak: both publish the same discovery document, so only
the issuer URL differs. The built-in provider's public issuer is this gateway's own /realms/
path; `internal_route` sends those back-channel calls straight to the auth service instead of
through the gateway's public face.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from voiceassist_common.tokens import JwksCache, TokenRejected, UnknownSigningKeyError

CALL_TIMEOUT_SECONDS = 10.0


class ProviderUnavailableError(Exception):
    """The provider cannot be reached or answered with a server error."""


class SignInRefusedError(Exception):
    """The provider refused a code or refresh token; the reason is OAuth's error code only."""


@dataclass(frozen=True, slots=True)
class ProviderEndpoints:
    """What the discovery document says about where to send browsers and requests."""

    authorization: str
    token: str
    end_session: str | None


@dataclass(frozen=True, slots=True)
class TokenSet:
    """A token endpoint's answer."""

    access_token: str
    expires_at: float
    refresh_token: str | None
    id_token: str | None


class _InternalRoute(httpx.AsyncBaseTransport):
    """Sends requests for ``public_origin``/realms/ to the auth service's own HTTP address."""

    def __init__(self, public_origin: str, internal_origin: str) -> None:
        self._public = urlsplit(public_origin)
        self._internal = urlsplit(internal_origin)
        self._transport = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if (
            url.scheme == self._public.scheme
            and url.host == self._public.hostname
            and url.port == self._public.port
            and url.path.startswith("/realms/")
        ):
            request.url = url.copy_with(
                scheme=self._internal.scheme,
                host=self._internal.hostname,
                port=self._internal.port,
            )
            request.headers["host"] = request.url.netloc.decode("ascii")
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._transport.aclose()


def provider_http_client(public_origin: str, auth_http_addr: str) -> httpx.AsyncClient:
    """Return an HTTP client for the provider that reaches the built-in one without a detour."""
    return httpx.AsyncClient(
        transport=_InternalRoute(public_origin, f"http://{auth_http_addr}"),
        timeout=CALL_TIMEOUT_SECONDS,
        follow_redirects=False,
    )


class IdentityProvider:
    """The OIDC provider at ``issuer``, seen by one confidential client."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient,
        jwks: JwksCache,
        *,
        clock: Any = time.time,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._secret = client_secret
        self._http = http
        self._jwks = jwks
        self._clock = clock
        self._endpoints: ProviderEndpoints | None = None

    async def endpoints(self) -> ProviderEndpoints:
        """Read (once) the provider's discovery document."""
        if self._endpoints is None:
            url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            document = await self._json("GET", url)
            if document.get("issuer") != self.issuer:
                raise ProviderUnavailableError("the discovery document is for another issuer")
            try:
                self._endpoints = ProviderEndpoints(
                    authorization=str(document["authorization_endpoint"]),
                    token=str(document["token_endpoint"]),
                    end_session=document.get("end_session_endpoint"),
                )
            except KeyError as missing:
                raise ProviderUnavailableError(f"discovery lacks {missing}") from None
        return self._endpoints

    async def authorization_url(
        self,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_challenge: str,
        register: bool = False,
    ) -> str:
        """Where to send the browser to sign in (authorization code flow, PKCE S256).

        With ``register`` the browser goes to the sign-up page instead, which Keycloak (and the
        built-in provider) serve beside the authorization endpoint as ``.../registrations`` with
        the same parameters; the flow then ends exactly like a sign-in.
        """
        endpoints = await self.endpoints()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid profile email",
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        target = endpoints.authorization
        if register and target.endswith("/auth"):
            target = target.removesuffix("/auth") + "/registrations"
        separator = "&" if "?" in target else "?"
        return f"{target}{separator}{query}"

    async def exchange_code(
        self,
        code: str,
        *,
        redirect_uri: str,
        code_verifier: str,
        browser_address: str | None = None,
    ) -> TokenSet:
        """Trade an authorization code for tokens.

        ``browser_address`` goes on as X-Forwarded-For, so the provider's per-address limits
        count each browser, not the gateway that speaks for all of them.
        """
        return await self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
            browser_address=browser_address,
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        """Trade a refresh token for fresh tokens (the provider rotates the refresh token)."""
        return await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def end_session(self, refresh_token: str | None) -> None:
        """Revoke the sign-in session at the provider (Keycloak's back-channel logout)."""
        endpoints = await self.endpoints()
        if endpoints.end_session is None:
            return
        form = {"client_id": self.client_id, "client_secret": self._secret}
        if refresh_token:
            form["refresh_token"] = refresh_token
        try:
            reply = await self._http.post(endpoints.end_session, data=form)
        except httpx.HTTPError as error:
            raise ProviderUnavailableError(type(error).__name__) from None
        if reply.status_code >= 500:
            raise ProviderUnavailableError(f"logout answered HTTP {reply.status_code}")

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """Check the ID token's signature, issuer, audience, lifetime and nonce; its claims."""
        try:
            compact = jws.extract_compact(id_token.encode("ascii"))
            kid = compact.headers().get("kid")
            key = await self._jwks.signing_key(kid if isinstance(kid, str) else None)
            token = jwt.decode(id_token, key, algorithms=["RS256", "ES256"])
        except (JoseError, UnicodeEncodeError, UnknownSigningKeyError, TokenRejected):
            raise SignInRefusedError("invalid_id_token") from None
        claims = dict(token.claims)
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        expires = claims.get("exp")
        if (
            claims.get("iss") != self.issuer
            or self.client_id not in audiences
            or claims.get("nonce") != nonce
            or not isinstance(expires, int | float)
            or self._clock() >= expires
        ):
            raise SignInRefusedError("invalid_id_token")
        return claims

    async def _token(self, form: dict[str, str], *, browser_address: str | None = None) -> TokenSet:
        endpoints = await self.endpoints()
        forwarded = {"X-Forwarded-For": browser_address} if browser_address else {}
        document = await self._json(
            "POST",
            endpoints.token,
            data=form,
            auth=(self.client_id, self._secret),
            extra_headers=forwarded,
        )
        access_token = document.get("access_token")
        expires_in = document.get("expires_in", 300)
        if not isinstance(access_token, str) or not isinstance(expires_in, int | float):
            raise ProviderUnavailableError("the token endpoint answered without an access token")
        refresh_token = document.get("refresh_token")
        id_token = document.get("id_token")
        return TokenSet(
            access_token=access_token,
            expires_at=self._clock() + float(expires_in),
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            id_token=id_token if isinstance(id_token, str) else None,
        )

    async def _json(
        self, method: str, url: str, *, extra_headers: dict[str, str] | None = None, **options: Any
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json", **(extra_headers or {})}
        try:
            reply = await self._http.request(method, url, headers=headers, **options)
        except httpx.HTTPError as failure:
            raise ProviderUnavailableError(type(failure).__name__) from None
        if reply.status_code >= 500:
            raise ProviderUnavailableError(f"the provider answered HTTP {reply.status_code}")
        try:
            document = reply.json()
        except ValueError:
            raise ProviderUnavailableError("the provider did not answer JSON") from None
        if not isinstance(document, dict):
            raise ProviderUnavailableError("the provider did not answer a JSON object")
        if reply.status_code >= 400:
            error = document.get("error")
            # OAuth error codes are a closed, harmless vocabulary; anything else is not echoed.
            code = error if isinstance(error, str) and error.isidentifier() else "refused"
            raise SignInRefusedError(code)
        return document
