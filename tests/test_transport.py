"""The transport against a real HTTP server on 127.0.0.1 that misbehaves on purpose."""

from __future__ import annotations

import gzip
import threading

import pytest

from composer.core.capture import bodies
from composer.core.compose.payloads import Composition, build_event
from composer.services.transport import (
    NO_RETRIES,
    ErrorKind,
    RetryPolicy,
    Timeouts,
    Transport,
    parse_retry_after,
)
from tests.support.fault_server import FaultServer, Reply, Reset, Stall, unused_port

KEY = "phc_transport_test_key_000000000000000"
FAST_RETRY = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_cap=0.05)


def _body() -> bytes:
    event = build_event(Composition.new(event="signed_up", distinct_id="user-1"))
    return bodies.render(bodies.single_body(event, KEY))


@pytest.fixture
def transport():
    t = Transport(timeouts=Timeouts(connect=2, read=1, write=2, pool=2), retry=FAST_RETRY)
    yield t
    t.close()


def test_sends_the_body_byte_for_byte(fault_server: FaultServer, transport: Transport) -> None:
    body = _body()
    record = transport.send(fault_server.url + "/i/v0/e/", body, secrets=[KEY])
    assert record.ok
    assert record.status == 200
    (request,) = fault_server.requests
    assert request.raw_body == body
    assert request.path == "/i/v0/e/"
    assert request.headers["Content-Type"] == "application/json"
    assert record.body == b'{"status":"Ok"}'
    assert record.interpretation is not None
    assert record.interpretation.style.value == "current"
    assert record.size == len(b'{"status":"Ok"}')
    assert record.elapsed > 0
    assert len(record.attempts) == 1


def test_the_record_never_holds_the_key(fault_server: FaultServer, transport: Transport) -> None:
    fault_server.queue(Reply(400, b"echo: " + KEY.encode(), (("Content-Type", "text/plain"),)))
    record = transport.send(fault_server.url + "/i/v0/e/", _body(), secrets=[KEY])
    assert KEY.encode() not in record.request_body
    assert KEY.encode() not in record.body
    assert KEY not in repr(record.to_dict())
    assert fault_server.requests[0].raw_body.count(KEY.encode()) == 1


def test_gzip_is_sent_with_its_header(fault_server: FaultServer, transport: Transport) -> None:
    body = _body()
    record = transport.send(fault_server.url + "/batch/", body, gzip=True)
    assert record.ok
    assert record.gzip
    (request,) = fault_server.requests
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.raw_body[:2] == b"\x1f\x8b"
    assert gzip.decompress(request.raw_body) == body
    assert record.request_size == len(request.raw_body)


def test_connection_refused_is_reported_in_plain_words(transport: Transport) -> None:
    record = transport.send(f"http://127.0.0.1:{unused_port()}/i/v0/e/", _body(), retry=NO_RETRIES)
    assert record.status is None
    assert not record.ok
    assert record.error is not None
    assert record.error.kind is ErrorKind.REFUSED
    assert "refused" in record.error.message


def test_a_stall_past_the_timeout_fails_with_a_read_timeout(
    fault_server: FaultServer, transport: Transport
) -> None:
    fault_server.queue(Stall(10))
    record = transport.send(fault_server.url + "/i/v0/e/", _body(), retry=NO_RETRIES)
    assert record.error is not None
    assert record.error.kind is ErrorKind.READ_TIMEOUT
    assert "within 1 s" in record.error.message


def test_a_reset_mid_response_is_retried_then_succeeds(
    fault_server: FaultServer, transport: Transport
) -> None:
    fault_server.queue(Reset())
    record = transport.send(fault_server.url + "/i/v0/e/", _body())
    assert record.ok
    assert [a.error.kind if a.error else a.status for a in record.attempts] == [
        ErrorKind.RESET,
        200,
    ]
    assert len(fault_server.requests) == 2


def test_a_reset_is_reported_when_retries_run_out(
    fault_server: FaultServer, transport: Transport
) -> None:
    fault_server.queue(Reset())
    record = transport.send(fault_server.url + "/i/v0/e/", _body(), retry=NO_RETRIES)
    assert record.error is not None
    assert record.error.kind is ErrorKind.RESET


def test_429_waits_for_retry_after_then_retries(
    fault_server: FaultServer, transport: Transport
) -> None:
    fault_server.queue(Reply(429, b"rate limited", (("Retry-After", "0.2"),)))
    record = transport.send(fault_server.url + "/batch/", _body())
    assert record.ok
    first, second = record.attempts
    assert first.status == 429
    assert first.retry_after == pytest.approx(0.2)
    # Retry-After is a floor for the backoff: the planned wait is never shorter.
    assert second.waited == pytest.approx(0.2)


def test_413_is_not_retried_and_has_guidance(
    fault_server: FaultServer, transport: Transport
) -> None:
    fault_server.queue(
        Reply(
            413,
            b"maximum event size exceeded: Request body exceeds limit",
            (("Content-Type", "text/plain"),),
        )
    )
    record = transport.send(fault_server.url + "/batch/", _body())
    assert record.status == 413
    assert len(record.attempts) == 1
    meaning = record.interpretation
    assert meaning is not None
    assert not meaning.ok
    assert "20 MiB" in meaning.guidance


def test_500_then_200_retries_once(fault_server: FaultServer, transport: Transport) -> None:
    fault_server.queue(Reply(500, b"internal server error"))
    record = transport.send(fault_server.url + "/i/v0/e/", _body())
    assert record.ok
    assert [a.status for a in record.attempts] == [500, 200]


def test_other_4xx_are_never_retried(fault_server: FaultServer, transport: Transport) -> None:
    fault_server.queue(Reply(401, b"API key is not valid: personal_api_key"))
    record = transport.send(fault_server.url + "/i/v0/e/", _body())
    assert [a.status for a in record.attempts] == [401]
    assert record.interpretation is not None
    assert "personal API key" in record.interpretation.guidance
    assert "phc_" in record.interpretation.guidance


def test_retries_stop_after_the_policy_limit(
    fault_server: FaultServer, transport: Transport
) -> None:
    fault_server.queue(*[Reply(503, b"transient error, please retry")] * 5)
    record = transport.send(fault_server.url + "/i/v0/e/", _body())
    assert [a.status for a in record.attempts] == [503, 503, 503, 503]
    assert record.status == 503


def test_legacy_answers_are_understood(fault_server: FaultServer, transport: Transport) -> None:
    fault_server.queue(
        Reply(200, b'{"status": 1}'),
        Reply(
            401,
            b'{"type":"authentication_error","code":"missing_api_key",'
            b'"detail":"API key not provided.","attr":null}',
        ),
    )
    ok = transport.send(fault_server.url + "/capture/", _body())
    assert ok.interpretation is not None
    assert ok.interpretation.style.value == "legacy"
    refused = transport.send(fault_server.url + "/capture/", _body())
    meaning = refused.interpretation
    assert meaning is not None
    assert meaning.style.value == "legacy"
    assert meaning.detail == "API key not provided."
    assert "No project API key" in meaning.guidance


def test_tls_to_a_plain_http_server_is_explained(
    fault_server: FaultServer, transport: Transport
) -> None:
    record = transport.send(f"https://127.0.0.1:{fault_server.port}/i/v0/e/", _body())
    assert record.error is not None
    assert record.error.kind is ErrorKind.TLS
    assert "http://" in record.error.message
    assert len(record.attempts) == 1  # a TLS mismatch does not heal by retrying


def test_cancel_stops_waiting_between_attempts(fault_server: FaultServer) -> None:
    fault_server.queue(Reply(503, b"busy"), Reply(503, b"busy"))
    cancel = threading.Event()
    slow = RetryPolicy(max_retries=3, backoff_base=30)
    with Transport(timeouts=Timeouts(read=2), retry=slow) as t:
        timer = threading.Timer(0.2, cancel.set)
        timer.start()
        record = t.send(fault_server.url + "/i/v0/e/", _body(), cancel=cancel)
        timer.cancel()
    assert record.error is not None
    assert record.error.kind is ErrorKind.CANCELLED
    assert len(record.attempts) == 1


def test_retry_after_accepts_seconds_and_dates() -> None:
    assert parse_retry_after("12") == 12
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The `verify` of every httpx client the transport makes, in order."""
    from composer.services import transport as module

    verifies: list[object] = []
    real = module.httpx.Client

    def client(**kwargs: object) -> object:
        verifies.append(kwargs["verify"])
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(module.httpx, "Client", client)
    return verifies


def test_a_plain_http_target_skips_the_ca_bundle_but_never_trusts_blindly(
    fault_server: FaultServer, made: list[object]
) -> None:
    """The CA bundle (26 ms of a CLI start) is loaded only for an HTTPS target. The client of
    a plain-HTTP one gets a context with no CA at all: certificates still required, so a TLS
    handshake through it could only fail, never pass unchecked."""
    import ssl

    with Transport(retry=NO_RETRIES) as transport:
        for _ in range(2):
            assert transport.send(f"{fault_server.url}/batch/", _body()).ok
        assert len(made) == 1  # one client for the plain target, made on the first send
        (plain,) = made
        assert isinstance(plain, ssl.SSLContext)
        assert plain.verify_mode is ssl.CERT_REQUIRED
        assert plain.check_hostname
        assert plain.get_ca_certs() == []
        refused = transport.send(f"https://127.0.0.1:{fault_server.port}/batch/", _body())
        assert refused.error is not None
        assert made[1] is True  # the HTTPS target's client: the system's trust, as always


def test_a_closed_transport_sends_nothing_more(fault_server: FaultServer) -> None:
    """A send still running when the window closes its transport fails loudly, as a closed
    httpx client does, rather than opening a client that nothing would close."""
    transport = Transport(retry=NO_RETRIES)
    assert transport.send(f"{fault_server.url}/batch/", _body()).ok
    transport.close()
    for url in (f"{fault_server.url}/batch/", f"https://127.0.0.1:{fault_server.port}/batch/"):
        with pytest.raises(RuntimeError):
            transport.send(url, _body())
    assert len(fault_server.requests) == 1


def test_prepare_makes_both_clients_ahead_of_the_first_send(
    fault_server: FaultServer, made: list[object]
) -> None:
    """The window prepares its transport on a worker at start: the first HTTPS send then
    loads no CA bundle (it holds the interpreter lock) while the window paints."""
    with Transport(retry=NO_RETRIES) as transport:
        transport.prepare()
        assert len(made) == 2
        assert True in made  # the HTTPS one, with the system's trust
        transport.send(f"{fault_server.url}/batch/", _body())
        transport.send(f"https://127.0.0.1:{fault_server.port}/batch/", _body())
        assert len(made) == 2
