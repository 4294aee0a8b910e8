"""The few server-rendered pages of the sign-in: password, TOTP, recovery codes, sign-up, reset.

Plain HTML with every value escaped, no scripts at all (the Content-Security-Policy forbids
them), one stylesheet from our own origin. Each form carries the flow id and a CSRF token that
must also match the flow's cookie, so another site cannot post a sign-in on a visitor's behalf.
"""

from __future__ import annotations

from html import escape

__all__ = ["RESET_REQUESTED", "STYLESHEET", "page"]

STYLESHEET = """
body{font-family:system-ui,sans-serif;background:#f4f6f8;color:#1b2733;margin:0}
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.5rem;
box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}
input{width:100%;padding:.5rem;box-sizing:border-box;font-size:1rem}
button{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem;background:#0b5cad;color:#fff;
border:0;border-radius:.3rem}.error{color:#a11;background:#fdecec;padding:.6rem}
code{font-size:1.05rem}ul.codes{columns:2}img.qr{display:block;margin:1rem auto}
p.links{display:flex;justify-content:space-between;gap:1rem;margin-top:1.5rem}
a{color:#0b5cad}.hint{font-size:.85rem;color:#4a5866;margin:.2rem 0 0}
"""

RESET_REQUESTED = (
    "<p>If an account uses this address, we have sent it a link to choose a new password. "
    "The link works once, for one hour.</p><p>No mail after a few minutes? Check your spam "
    "folder, or ask again later.</p>"
)
"""The one answer to a reset request, whether or not the address has an account."""


def page(title: str, body: str, *, stylesheet_url: str) -> str:
    """Return a complete page around ``body`` (already safe HTML)."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · VoiceAssist</title>"
        f'<link rel="stylesheet" href="{escape(stylesheet_url)}"></head>'
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def error_line(message: str | None) -> str:
    """Return an error paragraph, or nothing."""
    return f'<p class="error" role="alert">{escape(message)}</p>' if message else ""


def form(action: str, flow_id: str, csrf: str, fields: str, button: str) -> str:
    """Return a POST form carrying the flow id and CSRF token."""
    return (
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="flow" value="{escape(flow_id)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'{fields}<button type="submit">{escape(button)}</button></form>'
    )


def password_fields(email: str = "") -> str:
    """E-mail and password inputs."""
    return (
        '<label for="email">E-mail</label>'
        f'<input id="email" name="email" type="email" autocomplete="username" required '
        f'value="{escape(email)}">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
    )


def code_fields() -> str:
    """One input for a TOTP or recovery code."""
    return (
        '<label for="code">Code from your authenticator app (or a recovery code)</label>'
        '<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" required>'
    )


def enrolment_body(qr_data_uri: str, secret: str) -> str:
    """Return the QR code and the secret to type in when scanning is not possible."""
    return (
        "<p>Your role requires a second factor. Scan this code with an authenticator app "
        "(FreeOTP, Aegis, Google Authenticator...), then enter the 6-digit code it shows.</p>"
        f'<img class="qr" alt="QR code of your TOTP secret" src="{escape(qr_data_uri)}">'
        f"<p>Or enter this key: <code>{escape(secret)}</code></p>"
    )


def recovery_body(codes: list[str]) -> str:
    """Return the recovery codes, shown once."""
    items = "".join(f"<li><code>{escape(code)}</code></li>" for code in codes)
    return (
        "<p>Keep these recovery codes somewhere safe. Each works once, if you lose your "
        f'phone. They will not be shown again.</p><ul class="codes">{items}</ul>'
    )


def plain_form(action: str, hidden: dict[str, str], fields: str, button: str) -> str:
    """Return a POST form with the given hidden values (a form outside a sign-in flow)."""
    inputs = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    return (
        f'<form method="post" action="{escape(action)}">{inputs}{fields}'
        f'<button type="submit">{escape(button)}</button></form>'
    )


def links(targets: list[tuple[str, str]]) -> str:
    """Return a row of links, each ``(text, address)``."""
    anchors = "".join(f'<a href="{escape(href)}">{escape(text)}</a>' for text, href in targets)
    return f'<p class="links">{anchors}</p>' if targets else ""


def registration_fields(email: str = "", name: str = "") -> str:
    """Name, e-mail and the new password twice (a typo would lock the person out at once)."""
    return (
        '<label for="name">Full name</label>'
        f'<input id="name" name="name" autocomplete="name" maxlength="200" required '
        f'value="{escape(name)}">'
        '<label for="email">E-mail</label>'
        '<input id="email" name="email" type="email" autocomplete="email" required '
        f'value="{escape(email)}">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="new-password" '
        'minlength="12" maxlength="256" required aria-describedby="password-hint">'
        '<p class="hint" id="password-hint">At least 12 characters. A few unrelated words make '
        "a good one; avoid your name and your e-mail address.</p>"
        '<label for="password_again">Password again</label>'
        '<input id="password_again" name="password_again" type="password" '
        'autocomplete="new-password" required>'
    )


def reset_request_fields() -> str:
    """Return the input for the address to send a reset link to."""
    return (
        "<p>Enter the e-mail address of your account. We will send it a link to choose a new "
        "password.</p>"
        '<label for="email">E-mail</label>'
        '<input id="email" name="email" type="email" autocomplete="email" required>'
    )
