"""Canonical names: every allowed extension, written in lower case, reaches the CDN behaviour meant
for it; any other letter case would silently miss it (CloudFront path patterns are case-sensitive,
as ``fnmatch.fnmatchcase``), so the signer refuses it."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from infra import policies
from lambda_src.sign_uploads import media

from .support import call, make_event

MANIFEST_PATTERNS = policies.manifest_path_patterns()
SEGMENT_PATTERNS = policies.segment_path_patterns()


def behaviour_for(path: str) -> str:
    """Which cache behaviour CloudFront picks for ``/<prefix>/<job>/<path>``: the first ordered
    behaviour whose pattern matches (manifests first, as infra/cdn.py orders them), else default."""
    url_path = f"/videos/job-1/{path}"
    if any(fnmatchcase(url_path, pattern) for pattern in MANIFEST_PATTERNS):
        return "manifest"
    if any(fnmatchcase(url_path, pattern) for pattern in SEGMENT_PATTERNS):
        return "segment"
    return "default"


def upper_case_variants(extension: str) -> set[str]:
    variants = {
        extension.upper(),
        extension[:2].upper() + extension[2:],
        extension[:-1] + extension[-1].upper(),
    }
    return variants - {extension}


@pytest.mark.parametrize("extension", sorted(media.MEDIA_TYPES))
def test_a_lower_case_name_reaches_the_behaviour_meant_for_its_extension(extension: str) -> None:
    expected = (
        "manifest"
        if extension in media.MANIFEST_EXTENSIONS
        else "segment"
        if extension in media.SEGMENT_PATH_EXTENSIONS
        else "default"
    )
    assert behaviour_for(f"720p/name{extension}") == expected
    reply = call(make_event({"files": [{"path": f"720p/name{extension}", "size": 1}]}))
    assert reply.status == 200, reply.json


@pytest.mark.parametrize("extension", sorted(media.MEDIA_TYPES))
def test_an_upper_case_variant_is_refused_by_the_signer(extension: str) -> None:
    for variant in sorted(upper_case_variants(extension)):
        if extension in media.MANIFEST_EXTENSIONS or extension in media.SEGMENT_PATH_EXTENSIONS:
            # Why the rule exists: the variant would miss its own behaviour.
            assert behaviour_for(f"name{variant}") == "default", variant
        reply = call(make_event({"files": [{"path": f"720p/name{variant}", "size": 1}]}))
        assert reply.status == 400 and reply.error_code == "validation_failed", variant
        assert reply.json["error"]["details"] == [
            {"field": "files[0].path", "problem": "extension must be lower case"}
        ]


def test_every_cdn_path_pattern_names_an_allowed_lower_case_extension() -> None:
    for pattern in MANIFEST_PATTERNS + SEGMENT_PATTERNS:
        extension = pattern.removeprefix("*")
        assert pattern.startswith("*") and extension == extension.lower() and extension in media.MEDIA_TYPES


def test_the_raw_extension_keeps_its_case_and_the_lookup_lowers_it() -> None:
    assert media.raw_extension_of("a/master.M3U8") == ".M3U8"
    assert media.extension_of("a/master.M3U8") == ".m3u8"
    assert media.raw_extension_of("a.b/noext") == "" and media.raw_extension_of(".hidden") == ""
