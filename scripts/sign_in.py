"""Sign in through the running platform with the real authorization-code + PKCE flow.

``python scripts/sign_in.py [--base-url URL] (--demo | --email E --password P [--totp-secret S])``

Drives the built-in provider's sign-in page the way a browser would (through the gateway's
``/realms/`` proxy), as the public client ``voiceassist-cli``: authorize with a PKCE S256
challenge, post the e-mail and password, then the TOTP code when the account requires one,
take the code from the redirect and exchange it with the verifier. Prints who the token is for
(subject, roles, second factor); never the token. ``--demo`` signs in each demo account that
``make up`` printed (from ``.data/demo-accounts.txt``). Exit status 1 when a sign-in fails.

The steps are functions so that the security tests (tests/integration/test_security.py) sign in
exactly as this script does: `sign_in_tokens` for the whole CLI flow, `answer_sign_in` for the
provider's pages when another client (the gateway's web sign-in) started the flow.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html.parser
import json
import re
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

REALM = "voiceassist"
CLIENT = "voiceassist-cli"
CALLBACK = "http://127.0.0.1:53682/callback"  # never listened on: the code is read from Location
DEMO_FILE = Path(__file__).resolve().parents[1] / ".data" / "demo-accounts.txt"


@dataclass(frozen=True)
class Account:
    """Who to sign in."""

    email: str
    password: str
    totp_secret: str | None = None


class _SignInForm(html.parser.HTMLParser):
    """Collects the form's target and hidden inputs of a sign-in page (flow id, CSRF token)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = values.get("action")
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def hidden_fields(page: str) -> dict[str, str]:
    """Return the hidden form fields of a sign-in page."""
    parser = _SignInForm()
    parser.feed(page)
    return parser.fields


def form_action(page: httpx.Response) -> str:
    """Return where the page's form posts to (the page's own address when it does not say)."""
    parser = _SignInForm()
    parser.feed(page.text)
    return str(page.url.join(parser.action)) if parser.action else str(page.url)


def pkce_pair() -> tuple[str, str]:
    """Return a fresh PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def answer_sign_in(http: httpx.Client, page: httpx.Response, account: Account) -> httpx.Response:
    """Fill in the provider's sign-in page: the password, then the TOTP code when asked.

    ``page`` is the provider's answer to the authorization request. Returns the provider's last
    answer: a redirect to the client's redirect URI when signed in, else the refusing page.
    """
    page.raise_for_status()
    answer = http.post(
        form_action(page),
        data={**hidden_fields(page.text), "email": account.email, "password": account.password},
    )
    if answer.status_code == 200 and re.search(r'name="code"', answer.text):
        if account.totp_secret is None:
            raise RuntimeError("the account asks for a TOTP code and none was given")
        answer = http.post(
            form_action(answer),
            data={**hidden_fields(answer.text), "code": pyotp.TOTP(account.totp_secret).now()},
        )
    return answer


def access_claims(access_token: str) -> dict[str, Any]:
    """Return an access token's claims, unverified (the server that issued it checked)."""
    payload = access_token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return claims


def sign_in_tokens(base_url: str, account: Account) -> dict[str, Any]:
    """Run the whole flow; return the token endpoint's answer (access, refresh and ID tokens)."""
    issuer = f"{base_url.rstrip('/')}/realms/{REALM}"
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    with httpx.Client(follow_redirects=False, timeout=30) as http:
        discovery = http.get(f"{issuer}/.well-known/openid-configuration").json()
        page = http.get(
            discovery["authorization_endpoint"],
            params={
                "response_type": "code",
                "client_id": CLIENT,
                "redirect_uri": CALLBACK,
                "scope": "openid profile email",
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        answer = answer_sign_in(http, page, account)
        if answer.status_code not in {302, 303}:
            raise RuntimeError(f"sign-in refused (HTTP {answer.status_code})")
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        if query.get("state") != [state] or "code" not in query:
            raise RuntimeError("the provider's redirect lacks the code or the state")
        tokens = http.post(
            discovery["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "client_id": CLIENT,
                "code": query["code"][0],
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
            },
        )
        if tokens.status_code != 200:
            raise RuntimeError(f"code exchange refused (HTTP {tokens.status_code})")
        answered: dict[str, Any] = tokens.json()
        return answered


def sign_in(base_url: str, account: Account) -> dict[str, Any]:
    """Run the whole flow; return the access token's claims (unverified: the server checked)."""
    return access_claims(sign_in_tokens(base_url, account)["access_token"])


def demo_accounts(path: Path) -> list[Account]:
    """Read the demo accounts ``make up`` wrote (role, e-mail, password, TOTP secret)."""
    accounts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(
            r"^\s*\w+\s+(?P<email>\S+@\S+)\s+password:\s+(?P<password>\S+)"
            r"(?:\s+totp secret:\s+(?P<totp>[A-Z2-7]+))?",
            line,
        )
        if match:
            accounts.append(Account(match["email"], match["password"], match["totp"]))
    return accounts


def main(argv: Sequence[str] | None = None) -> int:
    """Sign in each requested account and print who each token is for."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--demo", action="store_true", help="every demo account of make up")
    parser.add_argument("--demo-file", type=Path, default=DEMO_FILE)
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--totp-secret")
    parser.add_argument("--json", action="store_true", help="one JSON line per account")
    args = parser.parse_args(argv)
    if args.demo:
        accounts = demo_accounts(args.demo_file)
    elif args.email and args.password:
        accounts = [Account(args.email, args.password, args.totp_secret)]
    else:
        parser.error("give --demo, or --email and --password")
    failed = False
    for account in accounts:
        try:
            claims = sign_in(args.base_url, account)
        except (RuntimeError, httpx.HTTPError, KeyError, ValueError) as error:
            failed = True
            print(f"{account.email}: FAILED: {error}", file=sys.stderr)
            continue
        summary = {
            "email": account.email,
            "subject": claims["sub"],
            "roles": claims.get("realm_access", {}).get("roles", []),
            "amr": claims.get("amr", []),
            "azp": claims.get("azp"),
        }
        print(json.dumps(summary) if args.json else f"{account.email}: signed in {summary}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
