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


async def at_provider(provider_url: str) -> str:
    """The provider's part (it approves at once): the callback's path and query it sends to."""
    async with httpx.AsyncClient() as elsewhere:
        approved = await elsewhere.get(provider_url)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["location"])
    return f"{back.path}?{back.query}"


async def connect_in_browser(
    browser: httpx.AsyncClient, app_path: str, headers: dict[str, str]
) -> httpx.Response:
    """The whole flow in one browser: the connect call, the start page, the provider, the
    callback's answer."""
    started = await browser.post(f"{app_path}/connection", json={}, headers=headers)
    assert started.status_code == 200, started.text
    callback = await at_provider(await open_start_page(browser, started.json()["auth_url"]))
    return await browser.get(callback)
