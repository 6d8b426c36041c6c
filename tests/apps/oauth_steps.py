"""A browser's steps of the OAuth2 flow through Weft, with an httpx client as the browser."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from weft.apps.oauth import START_PATH


async def open_start_page(browser: httpx.AsyncClient, auth_url: str) -> str:
    """Open the connect call's `auth_url` (Weft's start page) in `browser`: the provider URL
    it is sent on to. The flow's cookie is then in `browser`'s jar."""
    parts = urlsplit(auth_url)
    assert parts.path.startswith(START_PATH + "/"), auth_url
    answer = await browser.get(parts.path)
    assert answer.status_code == 303, answer.text
    assert "weft_oauth_" in answer.headers["set-cookie"]
    return answer.headers["location"]
