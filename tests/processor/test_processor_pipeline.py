"""Command builders and parsers, checked without running ffmpeg (plus two tiny runs of the runner)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.naive_transcode import naive_commands
from processor import hls, pipeline, runner
from processor.pipeline import ProcessingError, Rendition, plan_renditions

SOURCE = Path("/data/uploads/abc.upload")


def dims(renditions: list[Rendition]) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in renditions]


def test_ladder_for_1080p_landscape_stops_at_720p_unless_1080p_is_enabled() -> None:
    assert dims(plan_renditions(1080, 1920)) == [("360p", 640, 360), ("720p", 1280, 720)]
    assert dims(plan_renditions(1080, 1920, include_1080p=True))[-1] == ("1080p", 1920, 1080)


def test_portrait_video_is_laddered_on_its_short_side() -> None:
    assert dims(plan_renditions(1920, 1080)) == [("360p", 360, 640), ("720p", 720, 1280)]


def test_source_between_rungs_is_never_upscaled() -> None:
    assert dims(plan_renditions(480, 854)) == [("360p", 640, 360)]


def test_source_below_lowest_rung_keeps_its_size_rounded_to_even() -> None:
    assert dims(plan_renditions(241, 321)) == [("240p", 320, 240)]


@given(st.integers(min_value=2, max_value=4320), st.integers(min_value=2, max_value=7680))
def test_renditions_never_upscale_and_have_even_dimensions(height: int, width: int) -> None:
    renditions = plan_renditions(height, width, include_1080p=True)
    assert renditions
    for r in renditions:
        assert r.width <= max(width, 2) and r.height <= max(height, 2)
        assert r.width % 2 == 0 and r.height % 2 == 0


def test_single_pass_decodes_once_and_encodes_each_rendition_once() -> None:
    renditions = plan_renditions(1080, 1920)
    cmd = pipeline.single_pass_command(SOURCE, renditions, has_audio=True)
    assert cmd.count("-i") == 1 and cmd[cmd.index("-i") + 1] == str(SOURCE)
    graph = cmd[cmd.index("-filter_complex") + 1]
    assert graph.startswith("[0:v:0]split=2[v0][v1];")
    assert "scale=640:360" in graph and "scale=1280:720" in graph
    video_encoders = [a for a in cmd if a.startswith("-c:v:")]
    assert video_encoders == ["-c:v:0", "-c:v:1"]
    assert cmd.count("-c:a") == 1  # audio encoded once, shared by every output
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "-map"] == ["[o0]", "[o1]", "0:a:0"]


def test_single_pass_tees_each_encode_into_hls_and_mp4() -> None:
    renditions = plan_renditions(720, 1280)
    cmd = pipeline.single_pass_command(SOURCE, renditions, has_audio=True)
    assert cmd[-3:-1] == ["-f", "tee"]
    slaves = cmd[-1].split("|")
    assert len(slaves) == 4
    hls_360, mp4_360, hls_720, mp4_720 = slaves
    assert hls_360.endswith("]360p/index.m3u8") and "select=\\'v:0,a\\'" in hls_360
    assert (
        "f=hls" in hls_360
        and "hls_playlist_type=vod" in hls_360
        and "hls_fmp4_init_filename=init.mp4" in hls_360
    )
    assert mp4_360.endswith("]360p.mp4") and "f=mp4" in mp4_360
    assert "select=\\'v:1,a\\'" in hls_720 and mp4_720.endswith("]720p.mp4")
    assert "-progress" in cmd and "+global_header" in cmd


def test_single_pass_without_audio_maps_and_selects_video_only() -> None:
    cmd = pipeline.single_pass_command(SOURCE, plan_renditions(360, 640), has_audio=False)
    assert "0:a:0" not in cmd and "-c:a" not in cmd
    assert "select=\\'v:0\\'" in cmd[-1]


def test_naive_runs_one_ffmpeg_per_output_with_the_same_encoder_settings() -> None:
    renditions = plan_renditions(1080, 1920)
    commands = naive_commands(SOURCE, renditions, has_audio=True, preset="veryfast")
    assert len(commands) == 2 * len(renditions)
    assert [c[-1] for c in commands] == ["360p/index.m3u8", "360p.mp4", "720p/index.m3u8", "720p.mp4"]
    for command in commands:
        assert command.count("-i") == 1 and "veryfast" in command


def probe_output(streams: list[dict], duration: str | None = "3.5", format_name: str = "mov,mp4") -> str:
    return json.dumps({"streams": streams, "format": {"format_name": format_name, "duration": duration}})


def test_probe_result_applies_rotation_and_detects_audio() -> None:
    video = {"codec_type": "video", "width": 1920, "height": 1080, "side_data_list": [{"rotation": -90}]}
    result = pipeline.parse_probe(probe_output([video, {"codec_type": "audio"}]))
    assert (result.width, result.height, result.has_audio, result.duration) == (1080, 1920, True, 3.5)
    assert result.container_allowed(frozenset({"mp4"})) and not result.container_allowed(frozenset({"avi"}))


@pytest.mark.parametrize(
    ("streams", "duration", "problem"),
    [
        ([{"codec_type": "audio"}], "3", "no video stream"),
        ([{"codec_type": "video", "width": 0, "height": 0}], "3", "no frame size"),
        ([{"codec_type": "video", "width": 64, "height": 64}], None, "no measurable duration"),
    ],
)
def test_probe_rejects_inputs_that_are_not_usable_video(
    streams: list[dict], duration: str | None, problem: str
) -> None:
    with pytest.raises(ProcessingError, match=problem) as caught:
        pipeline.parse_probe(probe_output(streams, duration))
    assert caught.value.code == "not_a_video"


def test_progress_lines_are_read_in_microseconds() -> None:
    assert runner.parse_progress_seconds("out_time_us=1500000\n") == 1.5
    assert runner.parse_progress_seconds("out_time_us=N/A") is None
    assert runner.parse_progress_seconds("frame=12") is None


def test_master_playlist_lists_each_variant_with_bandwidth_resolution_and_codecs() -> None:
    stats = hls.VariantStats(900_000, 700_000, "avc1.64001f,mp4a.40.2")
    text = hls.master_playlist([(r, stats) for r in plan_renditions(720, 1280)])
    assert text.count("#EXT-X-STREAM-INF:") == 2
    assert (
        'BANDWIDTH=900000,AVERAGE-BANDWIDTH=700000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"' in text
    )
    assert text.rstrip().endswith("720p/index.m3u8")
    assert hls.avc_codecs_tag("High", 31) == "avc1.64001f"


def test_ffmpeg_is_killed_and_the_reason_reported_on_timeout(tmp_path: Path) -> None:
    endless = [
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=32x32",
        "-f",
        "null",
        "-",
    ]
    with pytest.raises(ProcessingError, match=r"did not finish within 0\.3 s") as caught:
        runner.run_ffmpeg(endless, cwd=tmp_path, timeout=0.3)
    assert caught.value.code == "timeout"


def test_failed_ffmpeg_run_raises_with_its_error_output(tmp_path: Path) -> None:
    with pytest.raises(ProcessingError, match="exited with status") as caught:
        runner.run_ffmpeg(
            ["ffmpeg", "-nostdin", "-i", str(tmp_path / "missing.mp4"), "out.mp4"], cwd=tmp_path, timeout=10
        )
    assert "missing.mp4" in caught.value.message


def test_cancel_stops_ffmpeg(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    endless = [
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=32x32",
        "-f",
        "null",
        "-",
    ]
    with pytest.raises(ProcessingError) as caught:
        runner.run_ffmpeg(endless, cwd=tmp_path, timeout=30, cancel=cancel)
    assert caught.value.code == "cancelled"
