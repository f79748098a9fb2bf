"""docs/operations.md's alarm table is generated from the alarm specs, and a stale table is caught."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.monitoring import alarms
from infra.monitoring.alarms import AlarmSpec
from tools import alarm_table

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def doc_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "operations.md"
    shutil.copyfile(alarm_table.OPERATIONS_DOC, copy)
    return copy


def test_the_committed_alarm_table_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.alarm_table", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_alarm_the_stack_declares_has_a_row() -> None:
    doc = alarm_table.OPERATIONS_DOC.read_text()
    for spec in alarms.alarm_specs(alarm_table.PLACEHOLDER_TARGETS):
        assert f"| `{spec.what}` |" in doc


def with_changed(what: str, **changes: object) -> Callable[[alarms.AlarmTargets], list[AlarmSpec]]:
    real = alarms.alarm_specs

    def specs(targets: alarms.AlarmTargets) -> list[AlarmSpec]:
        return [
            dataclasses.replace(spec, **changes) if spec.what == what else spec  # type: ignore[arg-type]
            for spec in real(targets)
        ]

    return specs


@pytest.mark.parametrize(
    ("what", "changes"),
    [
        ("signer-duration-p99", {"threshold": 9000}),
        ("api-4xx-rate", {"periods": 2}),
        ("cdn-5xx-rate", {"comparison": "GreaterThanOrEqualToThreshold"}),
        ("healthcheck-failing", {"treat_missing_data": "notBreaching"}),
    ],
)
def test_a_changed_alarm_makes_the_check_fail_naming_the_file(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    doc_copy: Path,
    what: str,
    changes: dict[str, object],
) -> None:
    """Break it: change one alarm the way a code change would, and the committed table is stale."""
    assert alarm_table.main(["--check", "--path", str(doc_copy)]) == 0
    monkeypatch.setattr(alarms, "alarm_specs", with_changed(what, **changes))
    before = doc_copy.read_text()
    assert alarm_table.main(["--check", "--path", str(doc_copy)]) == 1
    assert str(doc_copy) in capsys.readouterr().err
    assert doc_copy.read_text() == before, "--check must not write"
    # Regenerating brings the table in line with the changed spec.
    assert alarm_table.main(["--path", str(doc_copy)]) == 0
    assert alarm_table.main(["--check", "--path", str(doc_copy)]) == 0
    assert doc_copy.read_text() != before


def test_a_changed_runbook_text_makes_the_check_fail(monkeypatch: pytest.MonkeyPatch, doc_copy: Path) -> None:
    real = alarms.runbooks
    monkeypatch.setattr(
        alarms, "runbooks", lambda t: {**real(t), "signer-errors": "Check something else entirely."}
    )
    assert alarm_table.main(["--check", "--path", str(doc_copy)]) == 1


def test_a_document_without_the_markers_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "operations.md"
    doc.write_text("# Operations\n\nNo table here.\n")
    assert alarm_table.main(["--path", str(doc)]) == 1
    assert str(doc) in capsys.readouterr().err
    assert doc.read_text() == "# Operations\n\nNo table here.\n"


def test_the_table_reads_the_thresholds_the_alarms_deploy() -> None:
    rows = {line.split(" | ")[0].strip("| `"): line for line in alarm_table.current_table().splitlines()[2:]}
    assert "p99 ≥ 8000 for 3 × 5 min" in rows["signer-duration-p99"]  # 80% of the 10 s timeout
    assert "5xx % of requests > 5 in 5 min" in rows["api-5xx-rate"]
    assert "**breaching**" in rows["healthcheck-failing"]
    assert rows["cdn-4xx-rate"].endswith("| us-east-1 |")
    assert "`/aws/lambda/<signerFunctionName>`" in rows["signer-errors"]
