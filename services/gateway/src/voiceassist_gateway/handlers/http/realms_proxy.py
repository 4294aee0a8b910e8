"""Every /realms/ request goes to the built-in OIDC provider (the auth service's HTTP app).

Browsers and clients then see one origin: the issuer in tokens is this gateway's
`/realms/voiceassist`, the sign-in page is served from it, and no second port has to be exposed
or allowed by CORS. The proxy streams both ways and passes status, headers and redirects through
untouched (the provider's 302 back to a client's redirect URI must reach the browser as is); it
adds X-Forwarded-For/-Proto/-Host so the provider knows who is asking and how. Against Keycloak
(OIDC_ISSUER elsewhere) nothing is sent here.
"""

from __future__ import annotations

import logging
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from voiceassist_common.logging import safe

from voiceassist_gateway.domain.problems import http_problem
from voiceassist_gateway.handlers.http.problem_responses import problem_response, request_id_of

logger = logging.getLogger(__name__)

# RFC 9110 §7.6.1: connection-specific headers are not forwarded by a proxy.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]


def _forwarded_headers(request: Request) -> list[tuple[str, str]]:
    headers = [
        (name, value)
        for name, value in request.headers.items()
        if name.lower() not in _HOP_BY_HOP and not name.lower().startswith("x-forwarded-")
    ]
    client = request.client.host if request.client else "unknown"
    headers += [
        ("x-forwarded-for", client),
        ("x-forwarded-proto", request.url.scheme),
        ("x-forwarded-host", request.headers.get("host", request.url.netloc)),
    ]
    return headers


async def proxy_to_provider(request: Request) -> Response:
    """Forward the request to the provider and stream its answer back."""
    client: httpx.AsyncClient = request.app.state.provider_proxy
    upstream = client.build_request(
        request.method,
        httpx.URL(path=request.url.path, query=request.url.query.encode("latin-1")),
        headers=_forwarded_headers(request),
        content=request.stream(),
    )
    try:
        reply = await client.send(upstream, stream=True)
    except httpx.HTTPError as error:
        logger.warning("identity provider unreachable: %s", safe(type(error).__name__))
        problem = http_problem(
            502, "The sign-in service is unavailable; retry shortly.", request_id_of(request.scope)
        )
        return problem_response(problem, {"Retry-After": "5"})
    headers = [
        (name, value)
        for name, value in reply.headers.multi_items()
        if name.lower() not in _HOP_BY_HOP
    ]
    response = StreamingResponse(
        reply.aiter_raw(), status_code=reply.status_code, background=BackgroundTask(reply.aclose)
    )
    # Set after construction: raw_headers keeps repeated headers (several Set-Cookie).
    response.raw_headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
    ]
    return response


def realms_route() -> Route:
    """Return the catch-all route for /realms/ (left out of the OpenAPI document)."""
    return Route("/realms/{path:path}", proxy_to_provider, methods=_METHODS)


def cookieless_jar() -> CookieJar:
    """Return a cookie jar that keeps nothing: no user's cookies may reach another."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def provider_proxy_client(auth_http_addr: str) -> httpx.AsyncClient:
    """Return the proxy's client: no redirects followed, no cookies kept."""
    return httpx.AsyncClient(
        base_url=f"http://{auth_http_addr}",
        follow_redirects=False,
        timeout=httpx.Timeout(30.0, connect=5.0),
        cookies=cookieless_jar(),
    )
