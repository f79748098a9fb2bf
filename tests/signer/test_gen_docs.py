"""tools/gen_docs.py: the committed documents are what it generates, a stale one is named, and a
new media type reaches every generated place from media.py alone."""

from __future__ import annotations

import re

import pytest

from lambda_src.sign_uploads import media
from tools import gen_docs, signer_openapi

from .support import call, make_event


def test_the_committed_documents_are_up_to_date() -> None:
    assert gen_docs.main(["--check"]) == 0, "run: python -m tools.gen_docs"


def test_check_names_a_stale_file_and_fails(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "signer-openapi.yaml"
    stale.write_text(gen_docs.OPENAPI_PATH.read_text().replace("maxItems: ", "maxItems: 1"))
    monkeypatch.setattr(gen_docs, "OPENAPI_PATH", stale)
    monkeypatch.setattr(gen_docs, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(gen_docs, "SIGNER_MD_PATH", tmp_path / "signer.md")
    (tmp_path / "signer.md").write_text(
        f"intro\n{gen_docs.TABLE_START}\n| stale |\n{gen_docs.TABLE_END}\nrest\n"
    )
    assert gen_docs.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "signer-openapi.yaml is out of date" in err and "signer.md is out of date" in err
    assert gen_docs.main([]) == 0  # writes both
    assert gen_docs.main(["--check"]) == 0
    assert (tmp_path / "signer.md").read_text().startswith("intro\n") and "rest" in (
        tmp_path / "signer.md"
    ).read_text()


def test_a_new_media_type_needs_only_media_py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(media.MEDIA_TYPES, ".flac", "audio/flac")
    document = gen_docs.render_openapi()
    path_pattern = signer_openapi.path_pattern()
    assert re.search(path_pattern, "audio/track.flac") and not re.search(path_pattern, "audio/track.FLAC")
    assert "audio/flac" in document and r"\.flac$" in document
    assert "| `.flac` | `audio/flac` |" in gen_docs.media_table()
    reply = call(make_event({"files": [{"path": "track.flac", "size": 1, "contentType": "AUDIO/FLAC"}]}))
    assert reply.status == 200 and reply.json["uploads"][0]["headers"]["If-None-Match"] == "*"


def test_the_path_pattern_is_the_handlers_rule_on_edge_cases() -> None:
    pattern = re.compile(signer_openapi.path_pattern())
    accepted = ["a.ts", "a/b/c.m3u8", "..a.ts", "a/..b/.c.ts", "a..ts", "x.y.mp4", "_/-.jpg"]
    refused = ["a.TS", "a.Ts", ".ts", "a/.ts", "./a.ts", "../a.ts", "a/./b.ts", "a/../b.ts", "/a.ts",
               "a//b.ts", "a.exe", "a", "a.ts/b", "a b.ts", "a%2e.ts", "ä.ts", "a.ts.", "a.m3u8x"]  # fmt: skip
    for path in accepted:
        assert pattern.search(path), path
        assert call(make_event({"files": [{"path": path, "size": 1}]})).status == 200, path
    for path in refused:
        assert not pattern.search(path), path
        assert call(make_event({"files": [{"path": path, "size": 1}]})).status == 400, path
