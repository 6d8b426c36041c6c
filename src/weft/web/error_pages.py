"""Plain, styled HTML pages a person sees when the editor cannot open (never a JSON blob)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class PageError:
    """Why the editor did not open: the status, a title and what the person can do about it."""

    status: int
    reason: str
    title: str
    detail: str


MISSING_TOKEN = PageError(
    401,
    "missing_token",
    "This editor link is incomplete",
    "The link has no access token. Open the editor again from the app you came from.",
)
UNKNOWN_TOKEN = PageError(
    401,
    "invalid_token",
    "This editor link is not valid",
    "The access token in the link was not recognised. Open the editor again from the app "
    "you came from.",
)
EXPIRED_TOKEN = PageError(
    401,
    "expired_token",
    "Your editing session has expired",
    "For your security, editor links stop working after a while. Reload the page in the app "
    "you came from to get a fresh one; saved changes are kept.",
)
REVOKED_TOKEN = PageError(
    401,
    "revoked_token",
    "This editing session was signed out",
    "The access token in the link was revoked. Open the editor again from the app you came from.",
)
NO_ACCESS = PageError(
    403,
    "forbidden",
    "You cannot open this workflow",
    "It may have been deleted, or it belongs to another account.",
)
BAD_TEMPLATE_START = PageError(
    400,
    "bad_template_start",
    "This template link is not valid",
    "The link names a template or carries data the editor cannot use (a template key is "
    "lowercase letters, digits, _ and -; the injected inputs at most 32 KB). Open the editor "
    "again from the app you came from.",
)

MISSING_LINK = PageError(
    401,
    "missing_link",
    "This connect link is incomplete",
    "The link has no access code. Open the integrations page again from the app you came from.",
)
UNKNOWN_LINK = PageError(
    401,
    "invalid_link",
    "This connect link is not valid",
    "The link was not recognised. Open the integrations page again from the app you came from.",
)
EXPIRED_LINK = PageError(
    410,
    "expired_link",
    "This connect link has expired",
    "For your security, connect links work only for a few minutes. Open the integrations page "
    "again from the app you came from to get a fresh one.",
)
USED_LINK = PageError(
    410,
    "used_link",
    "This connect link was already used",
    "Each connect link opens the page once. Open the integrations page again from the app you "
    "came from to get a fresh one; your connections are kept.",
)

LINK_PROBLEMS = {"unknown": UNKNOWN_LINK, "expired": EXPIRED_LINK, "used": USED_LINK}

TOO_MANY_ATTEMPTS = PageError(
    429,
    "too_many_attempts",
    "Too many failed attempts",
    "Too many links that did not work were opened from your network. Wait a minute, then open "
    "it again from the app you came from.",
)

TOKEN_PROBLEMS = {"unknown": UNKNOWN_TOKEN, "expired": EXPIRED_TOKEN, "revoked": REVOKED_TOKEN}

_ICONS = {
    401: '<path d="M7 11V8a5 5 0 0 1 10 0v3M5 11h14v10H5z"/>',  # a padlock
    400: '<circle cx="12" cy="12" r="9"/><path d="M12 7v6M12 16.5v.5"/>',  # a warning
    403: '<circle cx="12" cy="12" r="9"/><path d="M5.6 5.6l12.8 12.8"/>',  # no entry
    410: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',  # a clock
    429: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
}

_STYLE = """
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --text: #1b1f24;
  --muted: #5b6472; --accent: #4f46e5; --border: #e3e6eb; }
@media (prefers-color-scheme: dark) { :root { --bg: #111318; --card: #1a1d24; --text: #eceef2;
  --muted: #a1a8b5; --accent: #8b85ff; --border: #2a2f39; } }
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { display: grid; place-items: center; background: var(--bg); color: var(--text);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; padding: 24px; }
main { max-width: 440px; width: 100%; background: var(--card); border: 1px solid var(--border);
  border-radius: 14px; padding: 32px 32px 28px; box-shadow: 0 8px 28px rgba(15, 20, 30, .08); }
svg { width: 40px; height: 40px; stroke: var(--accent); fill: none; stroke-width: 1.8;
  stroke-linecap: round; stroke-linejoin: round; }
h1 { font-size: 19px; line-height: 1.3; margin: 16px 0 8px; font-weight: 600; }
p { margin: 0; color: var(--muted); }
.code { margin-top: 20px; font-size: 12px; color: var(--muted); letter-spacing: .02em; }
"""


def render_error_page(error: PageError) -> str:
    """The whole HTML document for `error` (self-contained: no outside fonts, scripts or images)."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(error.title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<main role="alert" data-weft-error="{escape(error.reason)}">
<svg viewBox="0 0 24 24" aria-hidden="true">{_ICONS.get(error.status, _ICONS[403])}</svg>
<h1>{escape(error.title)}</h1>
<p>{escape(error.detail)}</p>
<p class="code">Error {error.status} · {escape(error.reason)}</p>
</main>
</body>
</html>
"""
