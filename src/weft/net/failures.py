"""aiohttp's exceptions as OutboundError subclasses, with messages that name the host only.

aiohttp's own messages sometimes carry the whole URL (`Connection timeout to host http://…`),
whose query or user info may hold credentials that would end up in run records and logs; so
every message here is built from the host and a description known to leave the URL out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp

from weft.net.errors import InvalidUrl, OutboundConnectionError, OutboundError, OutboundTimeout


@contextmanager
def translate_errors(host: str | None) -> Iterator[None]:
    """Turn aiohttp exceptions raised inside into OutboundError subclasses naming `host`."""
    try:
        yield
    except OutboundError:
        raise
    except aiohttp.ClientConnectorCertificateError as error:
        # A certificate that fails verification now will fail the same way on retry.
        raise OutboundConnectionError(
            f"TLS certificate of {host} could not be verified: {error.certificate_error}",
            retryable=False,
        ) from error
    except aiohttp.ClientConnectorDNSError as error:
        raise OutboundConnectionError(
            f"Could not resolve {host}: {_os_reason(error.os_error)}"
        ) from error
    except aiohttp.ClientConnectorError as error:
        raise OutboundConnectionError(
            f"Could not reach {host}: {_os_reason(error.os_error)}"
        ) from error
    except aiohttp.ConnectionTimeoutError as error:
        raise OutboundTimeout(f"Request to {host} timed out (connecting)") from error
    except TimeoutError as error:  # aiohttp's read timeout (SocketTimeoutError) and others
        raise OutboundTimeout(f"Request to {host} timed out (waiting for data)") from error
    except aiohttp.ServerDisconnectedError as error:
        raise OutboundConnectionError(
            f"Connection to {host} closed before the response was complete"
        ) from error
    except aiohttp.ClientResponseError as error:
        # A malformed response (status line, headers): its `message`, never its URL.
        raise OutboundConnectionError(
            f"{host} sent an invalid response: {error.message}"
        ) from error
    except (aiohttp.ClientOSError, aiohttp.ClientPayloadError) as error:
        raise OutboundConnectionError(f"Connection to {host} failed: {error}") from error
    except aiohttp.InvalidURL as error:
        raise InvalidUrl(f"Invalid URL: {error.description or 'it cannot be used'}") from error
    except aiohttp.ClientError as error:
        raise OutboundError(f"Request to {host} failed: {type(error).__name__}") from error
    except ValueError as error:
        # aiohttp refusing to build the request (the caller's input): retrying won't help.
        raise OutboundError(f"Request to {host} could not be sent: {error}") from error


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__
