"""HTTPS through the guard: the socket goes to the checked IP, TLS still verifies the host name."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from outbound_servers import TinyServer

from weft.net import OutboundClient, OutboundConnectionError

pytestmark = pytest.mark.integration

MakeClient = Callable[..., OutboundClient]
CERT_HOST = "weft.test"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERT_HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(CERT_HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return _self_signed(tmp_path)


@pytest.fixture
async def tls_server(certificate: tuple[Path, Path]) -> AsyncIterator[TinyServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    tiny = TinyServer(ssl_context=context)
    await tiny.start()
    yield tiny
    await tiny.stop()


@pytest.fixture
def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


async def _to_loopback(host: str, port: int) -> Sequence[str]:
    return ["127.0.0.1"]


async def test_tls_verifies_the_host_name_while_dialling_the_checked_ip(
    tls_server: TinyServer, trusting: ssl.SSLContext, make_client: MakeClient, dials: list[str]
) -> None:
    client = make_client("127.0.0.1", verify=trusting, resolver=_to_loopback)
    response = await client.request("GET", tls_server.url("/echo", host=CERT_HOST))
    assert response.status == 200
    assert response.body["host"] == f"{CERT_HOST}:{tls_server.port}"
    assert dials == ["127.0.0.1"]


async def test_certificate_for_another_name_is_rejected_and_not_retryable(
    tls_server: TinyServer, trusting: ssl.SSLContext, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1", verify=trusting)
    with pytest.raises(OutboundConnectionError) as caught:
        await client.request("GET", tls_server.url("/json"))  # cert is for weft.test
    assert not caught.value.retryable
    assert "certificate" in caught.value.message
    assert tls_server.requests == []


async def test_verification_can_be_turned_off(
    tls_server: TinyServer, make_client: MakeClient
) -> None:
    client = make_client("127.0.0.1", verify=False)
    assert (await client.request("GET", tls_server.url("/json"))).status == 200
