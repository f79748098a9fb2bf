"""The stack's life on a developer's machine: what listens where, restarts, body limits, the CDN's
edge cases and the processor's CORS."""

from __future__ import annotations

import os
import re
import socket
import threading
from pathlib import Path

import httpx
import pytest

from local import settings as settings_module
from local import stack as stack_module
from local.s3_emulator import s3_client
from local.stack import LocalSettings, LocalStack, free_port
from tests.infra.helpers import DEV_ALLOW_ORIGIN, DEV_PAGE_ORIGIN
from tools import cdn_config as cdn_config_tool

ORIGIN = DEV_PAGE_ORIGIN


def listening_ports(loopback_only: bool = False) -> set[int]:
    """TCP ports this process listens on (sockets from /proc/self/fd matched to /proc/net/tcp*);
    ``loopback_only``: those bound to 127.0.0.1 only."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                if loopback_only and fields[1].split(":")[0] != "0100007F":
                    continue
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def time_wait_on(port: int) -> bool:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "06" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # TIME_WAIT
                return True
    return False


def test_make_dev_starts_again_at_once_while_time_wait_sockets_remain(tmp_path: Path) -> None:
    settings = LocalSettings(port=free_port(), s3_port=free_port(), data_dir=tmp_path)
    with LocalStack(settings):
        for port in (settings.port, settings.s3_port):
            # Read to EOF before closing: the server closes first, so the TIME-WAIT is on its side.
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
                while sock.recv(65536):
                    pass
    assert time_wait_on(settings.port) and time_wait_on(settings.s3_port)  # the situation that failed
    with LocalStack(settings) as second:
        assert httpx.get(second.base_url + "/healthz").status_code == 200
        assert s3_client(second.s3_endpoint_url).head_bucket(Bucket=second.config.bucket_name)


def test_serving_the_lan_opens_only_the_stack_ports_and_no_unsigned_write_succeeds(tmp_path: Path) -> None:
    before = listening_ports()
    settings = LocalSettings(
        host="0.0.0.0",  # noqa: S104 - the behaviour under test
        port=free_port(),
        s3_port=free_port(),
        data_dir=tmp_path,
    )
    with LocalStack(settings) as running:
        opened = listening_ports() - before
        # The signer, CDN and processor share PORT; the verifying S3 endpoint is S3_PORT; moto's S3
        # has no port. moto's DynamoDB + Secrets Manager listen on loopback only, never the LAN.
        aws_port = int(running.aws.endpoint_url.rsplit(":", 1)[1])
        assert opened == {settings.port, settings.s3_port, aws_port}
        assert aws_port in listening_ports(loopback_only=True)
        assert settings.port not in listening_ports(loopback_only=True)  # the check can tell them apart
        # ... and they serve neither S3 nor moto's admin API.
        bucket_url = f"{running.aws.endpoint_url}/{running.config.bucket_name}/videos/x.ts"
        assert httpx.put(bucket_url, content=b"x").status_code == 404
        assert httpx.post(f"{running.aws.endpoint_url}/moto-api/reset").status_code == 404
        lan = settings_module.lan_address()
        hosts = ["127.0.0.1"] + ([lan] if lan != "127.0.0.1" else [])
        for host in hosts:
            s3 = f"http://{host}:{settings.s3_port}"
            bucket = running.config.bucket_name
            assert httpx.get(f"{s3}/moto-api/data.json").status_code == 404
            assert httpx.post(f"{s3}/moto-api/reset").status_code == 404
            for method in ("PUT", "POST", "DELETE"):
                response = httpx.request(method, f"{s3}/{bucket}/videos/lan/x.ts", content=b"x")
                assert response.status_code == 403, (host, method)
            assert httpx.get(f"{s3}/{bucket}?list-type=2").status_code == 403
            assert httpx.get(f"http://{host}:{settings.port}/healthz").status_code == 200
        assert s3_client(running.s3_endpoint_url).head_bucket(Bucket=running.config.bucket_name)


def test_a_lan_address_outside_the_private_ranges_falls_back_to_loopback_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_module, "lan_address", lambda: "203.0.113.7")
    settings = LocalSettings(host="0.0.0.0", port=9100, s3_port=9101, data_dir=tmp_path)  # noqa: S104
    stack = LocalStack(settings)
    assert stack.advertise_note is not None and "203.0.113.7" in stack.advertise_note
    assert "PUBLIC_HOST" in stack.advertise_note
    assert stack.cdn_config()["signerEndpoint"] == "http://127.0.0.1:9100/"
    cdn_config_tool.validate(stack.cdn_config())
    # A private LAN address is advertised as before.
    monkeypatch.setattr(settings_module, "lan_address", lambda: "192.168.1.20")
    private = LocalStack(settings)
    assert private.advertise_note is None and private.s3_endpoint_url == "http://192.168.1.20:9101"


def rss_kib(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    assert match
    return int(match.group(1))


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def chunked_post(host: str, port: int, total: int) -> bytes:
    """POST ``total`` bytes chunked, reading the answer while still sending (as a browser does)."""
    chunk = b"x" * (64 * 1024)
    answer = bytearray()
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )

        def send() -> None:
            try:
                for _ in range(total // len(chunk)):
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass

        sender = threading.Thread(target=send)
        sender.start()
        while data := sock.recv(65536):
            answer += data
        sender.join()
    return bytes(answer)


def test_a_40_mib_chunked_post_to_the_signer_gets_413_without_buffering_it(stack: LocalStack) -> None:
    # The measure works: holding 60 MB shows up in the peak.
    reset_peak_rss()
    baseline = rss_kib("VmRSS")
    held = bytearray(60 * 1024 * 1024)
    held[::4096] = b"x" * len(held[::4096])
    assert rss_kib("VmHWM") - baseline > 50 * 1024
    del held

    reset_peak_rss()
    baseline = rss_kib("VmRSS")
    answer = chunked_post("127.0.0.1", stack.settings.port, 40 * 1024 * 1024)
    growth_mib = (rss_kib("VmHWM") - baseline) / 1024
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"Request Entity Too Large" in answer
    assert growth_mib < 50, f"the stack grew by {growth_mib:.0f} MiB"
    # Under the limit the signer still answers.
    assert httpx.post(stack.signer_url, json={"files": [{"path": "a.ts", "size": 1}]}).status_code == 200


@pytest.fixture(scope="module")
def segment(stack: LocalStack) -> str:
    key = "videos/cdn-edge/seg.ts"
    s3_client(stack.s3_endpoint_url).put_object(
        Bucket=stack.config.bucket_name, Key=key, Body=bytes(range(100)), ContentType="video/mp2t"
    )
    return f"{stack.base_url}/{key}"


def test_cdn_head_honours_range_like_get(segment: str) -> None:
    get = httpx.get(segment, headers={"Range": "bytes=10-19"})
    head = httpx.head(segment, headers={"Range": "bytes=10-19"})
    assert get.status_code == head.status_code == 206
    assert head.headers["content-range"] == get.headers["content-range"] == "bytes 10-19/100"
    assert head.headers["content-length"] == "10"
    # Unsatisfiable: 416 on GET, 200 with the whole length on HEAD (S3's HeadObject).
    assert httpx.get(segment, headers={"Range": "bytes=500-600"}).status_code == 416
    whole = httpx.head(segment, headers={"Range": "bytes=500-600"})
    assert whole.status_code == 200 and whole.headers["content-length"] == "100"


@pytest.mark.parametrize("value", ["garbage", "bytes=5-2", "bytes=0-1,5-6", "items=0-1"])
def test_cdn_ignores_a_range_s3_cannot_use(segment: str, value: str) -> None:
    response = httpx.get(segment, headers={"Range": value})
    assert response.status_code == 200 and response.content == bytes(range(100))


def test_cdn_turns_only_missing_or_denied_keys_into_403_and_shows_origin_faults(
    stack: LocalStack, segment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert httpx.get(segment.replace("seg.ts", "missing.ts")).status_code == 403

    def broken(environ: object, start_response: object) -> list[bytes]:
        raise RuntimeError("emulator fault")

    monkeypatch.setattr(stack.emulator.front, "_backend", broken)
    faulty = httpx.get(segment)
    assert faulty.status_code >= 500, faulty.text
    monkeypatch.undo()
    assert httpx.get(segment).status_code == 200


def test_the_processor_answers_browsers_from_the_api_origins(stack: LocalStack) -> None:
    preflight = httpx.options(
        stack.processor_url,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == DEV_ALLOW_ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    status = httpx.get(f"{stack.processor_url}/{'0' * 32}", headers={"Origin": ORIGIN})
    assert status.status_code == 404 and status.headers["access-control-allow-origin"] == DEV_ALLOW_ORIGIN
    # The seed's alias redirects to the CDN: the 307 itself must carry CORS for a player to follow it.
    alias = httpx.get(f"{stack.base_url}/media/{'0' * 32}/master.m3u8", headers={"Origin": ORIGIN})
    assert alias.status_code == 307 and alias.headers["access-control-allow-origin"] == DEV_ALLOW_ORIGIN
    assert (
        "access-control-allow-origin"
        not in httpx.get(f"{stack.base_url}/media/{'0' * 32}/master.m3u8").headers
    )


def test_a_public_host_the_app_config_cannot_hold_fails_in_one_clear_line(tmp_path: Path) -> None:
    settings = LocalSettings(public_host="laptop.example.com", port=9100, s3_port=9101, data_dir=tmp_path)
    with pytest.raises(stack_module.LocalStackError, match="PUBLIC_HOST"):
        LocalStack(settings).write_cdn_config()
    assert not (tmp_path / "cdn_config.json").exists()
