"""Where a webhook may go, and one attempt over HTTP (no database): https and public
addresses only in production, the name resolved once per attempt and that address used
with the name kept in Host and in TLS, no redirects, a bound on the whole attempt."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bloomer_ai.outbound_webhooks.delivery.sender import Sender
from bloomer_ai.outbound_webhooks.delivery.targets import (
    TargetRefused,
    parse_target,
    resolve,
)
from support.processes import free_port
from support.receiver import Answer, Receiver, serving

NAME = "hooks.example.test"  # .test never resolves in real DNS: only our resolver knows it


class Resolver:
    """Names this test decides, counting the look-ups."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return self.answers.get(host, [])


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.example.com/in", "https_required"),
        ("https://user:pw@hooks.example.com/in", "credentials_in_url"),
        ("https://127.0.0.1/in", "private_address"),
        ("https://10.1.2.3/in", "private_address"),
        ("https://169.254.169.254/latest/meta-data", "private_address"),
        ("https://100.64.0.1/in", "private_address"),
        ("https://0.0.0.0/in", "private_address"),
        ("https://224.0.0.1/in", "private_address"),
        ("https://[::1]/in", "private_address"),
        ("https://[fd00::1]/in", "private_address"),
        ("https://[::ffff:127.0.0.1]/in", "private_address"),
        ("ftp://hooks.example.com/in", "not_a_url"),
        ("https:///no-host", "not_a_url"),
        ("https://hooks.example.com:99999/in", "not_a_url"),
    ],
)
def test_production_refuses(url: str, code: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        parse_target(url, private_allowed=False)
    assert refused.value.code == code


def test_an_https_url_with_a_public_name_or_address_is_taken() -> None:
    target = parse_target("https://Hooks.Example.com/in?shop=1#frag", private_allowed=False)
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "hooks.example.com",
        443,
        "/in?shop=1",
    )
    assert target.host_header == "hooks.example.com"
    assert parse_target("https://93.184.215.14:8443/", private_allowed=False).port == 8443


def test_development_may_use_loopback_and_http() -> None:
    target = parse_target("http://127.0.0.1:8080/in", private_allowed=True)
    assert target.host_header == "127.0.0.1:8080"


async def test_every_address_of_the_name_must_be_public() -> None:
    target = parse_target(f"https://{NAME}/in", private_allowed=False)
    mixed = Resolver({NAME: ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(TargetRefused, match="private_address"):
        await resolve(target, private_allowed=False, resolver=mixed)
    public = Resolver({NAME: ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    assert str(await resolve(target, private_allowed=False, resolver=public)) == "93.184.215.14"
    with pytest.raises(TargetRefused, match="unresolvable"):
        await resolve(target, private_allowed=False, resolver=Resolver({}))


# --- one attempt over HTTP -------------------------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, int]]:
    def plan(request):  # type: ignore[no-untyped-def]
        path = request.headers.get("x-answer", "200")
        if path == "redirect":
            return Answer(307, headers={"location": "http://127.0.0.1:9/elsewhere"})
        if path == "slow":
            return Answer(200, delay_seconds=2.0)
        return Answer(int(path))

    app = Receiver(plan)
    port = free_port()
    async with serving(app, port=port):
        yield app, port


def sender(resolver: Resolver, *, private_allowed: bool = True, **options) -> Sender:  # type: ignore[no-untyped-def]
    return Sender(
        timeout_seconds=0.5, private_allowed=private_allowed, resolver=resolver, **options
    )


async def test_the_name_is_resolved_once_and_that_address_used_with_the_name_in_host(
    receiver,
) -> None:
    app, port = receiver
    names = Resolver({NAME: ["127.0.0.1"]})
    client = sender(names)
    result = await client.send(f"http://{NAME}:{port}/in", {"x-answer": "200"}, b"{}")
    await client.aclose()
    assert (result.outcome, result.status_code, result.error) == ("succeeded", 200, None)
    assert names.calls == 1
    (request,) = app.received
    assert request.headers["host"] == f"{NAME}:{port}"
    assert request.headers["content-type"] == "application/json"


async def test_production_never_connects_to_a_name_that_resolves_inside(receiver) -> None:
    app, port = receiver
    client = sender(Resolver({NAME: ["127.0.0.1"]}), private_allowed=False)
    result = await client.send(f"https://{NAME}:{port}/in", {}, b"{}")
    plain = await client.send(f"http://{NAME}:{port}/in", {}, b"{}")
    await client.aclose()
    assert (result.outcome, result.error) == ("refused", "private_address")
    assert (plain.outcome, plain.error) == ("refused", "https_required")
    assert app.received == []


@pytest.mark.parametrize(
    ("answer", "outcome", "status", "error", "final"),
    [
        ("204", "succeeded", 204, None, True),
        ("410", "gone", 410, None, True),
        ("500", "failed", 500, None, False),
        ("redirect", "failed", 307, "redirect_not_followed", False),
        ("slow", "failed", None, "timeout", False),
    ],
)
async def test_answers_and_their_outcomes(receiver, answer, outcome, status, error, final) -> None:
    app, port = receiver
    client = sender(Resolver({NAME: ["127.0.0.1"]}))
    result = await client.send(f"http://{NAME}:{port}/in", {"x-answer": answer}, b"{}")
    await client.aclose()
    assert (result.outcome, result.status_code, result.error) == (outcome, status, error)
    assert result.final is final
    assert len(app.received) == 1  # a redirect is not followed
    assert result.duration_ms < 1500  # the slow answer was cut at the 0.5 s bound


async def test_nothing_listening_is_a_failed_attempt() -> None:
    client = sender(Resolver({NAME: ["127.0.0.1"]}))
    result = await client.send(f"http://{NAME}:{free_port()}/in", {}, b"{}")
    await client.aclose()
    assert (result.outcome, result.error) == ("failed", "connect_failed")


# --- TLS: the certificate is checked against the name, not the address ---------------------


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_https_to_the_resolved_address_keeps_the_name_for_sni_and_the_certificate(
    tmp_path: Path,
) -> None:
    cert, key = self_signed(tmp_path, NAME)
    trust = ssl.create_default_context(cafile=str(cert))
    app, port = Receiver(), free_port()
    names = Resolver({NAME: ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})
    client = sender(names, private_allowed=True, verify=trust)
    async with serving(app, port=port, ssl_certfile=str(cert), ssl_keyfile=str(key)):
        good = await client.send(f"https://{NAME}:{port}/in", {}, b"{}")
        # The same address under another name: its certificate does not match that name.
        other = await client.send(f"https://other.example.test:{port}/in", {}, b"{}")
        await client.aclose()
    assert (good.outcome, good.status_code) == ("succeeded", 200)
    assert other.outcome == "failed" and other.error is not None
    assert [request.headers["host"] for request in app.received] == [f"{NAME}:{port}"]
