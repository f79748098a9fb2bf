"""SignerPublisher against a fake signer and a fake S3 (httpx.MockTransport): the contract, end to end."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from processor.publisher import PublishError, SignerPublisher
from tests.processor.processor_fakes import FakeSignerAndBucket

SIGNER = "http://signer.test/"


@pytest.fixture
def fake() -> FakeSignerAndBucket:
    return FakeSignerAndBucket()


@pytest.fixture
def publisher(fake: FakeSignerAndBucket) -> SignerPublisher:
    return SignerPublisher(SIGNER, httpx.Client(transport=httpx.MockTransport(fake.handle)))


@pytest.fixture
def outputs(tmp_path: Path) -> tuple[Path, list[str]]:
    files = {
        "master.m3u8": b"#EXTM3U\n",
        "360p/index.m3u8": b"#EXTM3U\n#EXT-X-ENDLIST\n",
        "360p.mp4": b"\0" * 3000,
    }
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    return tmp_path, sorted(files)


def test_publish_signs_every_file_and_puts_it_with_exactly_the_signed_headers(
    fake: FakeSignerAndBucket, publisher: SignerPublisher, outputs: tuple[Path, list[str]]
) -> None:
    root, files = outputs
    playback = publisher.publish("j1", root, files)

    assert playback == "http://cdn.test/videos/j1/master.m3u8"
    assert fake.signer_requests == [
        {"jobId": "j1", "files": [{"path": p, "size": (root / p).stat().st_size} for p in files]}
    ]
    assert fake.objects == {f"videos/j1/{p}": (root / p).read_bytes() for p in files}
    assert fake.received_headers["videos/j1/360p.mp4"]["content-type"] == "video/mp4"


def test_signer_error_message_is_part_of_the_failure(
    fake: FakeSignerAndBucket, publisher: SignerPublisher, outputs: tuple[Path, list[str]]
) -> None:
    fake.reject_signing = True
    with pytest.raises(PublishError, match=r"400.*unsupported extension.*files\[0\]\.path: extension .exe"):
        publisher.publish("j1", *outputs)


def test_a_rejected_put_fails_the_publish(
    fake: FakeSignerAndBucket, publisher: SignerPublisher, outputs: tuple[Path, list[str]]
) -> None:
    fake.put_status = 403
    with pytest.raises(PublishError, match="got 403: <Error><Code>AccessDenied"):
        publisher.publish("j1", *outputs)


def test_unreachable_signer_is_a_clear_failure(outputs: tuple[Path, list[str]]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    publisher = SignerPublisher(SIGNER, httpx.Client(transport=httpx.MockTransport(refuse)))
    with pytest.raises(PublishError, match="unreachable"):
        publisher.publish("j1", *outputs)
