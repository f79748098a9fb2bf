"""The alarm table of ``docs/operations.md``, generated from the alarm specs the stack deploys.

``python -m tools.alarm_table`` (``make docs``) rewrites the table between ``<!-- alarms:start -->``
and ``<!-- alarms:end -->`` from :func:`infra.monitoring.alarms.alarm_specs` and
:func:`~infra.monitoring.alarms.runbooks`, so the on-call reads the thresholds and the runbook text
the alarms really carry. ``--check`` (``make docs-check``, run by ``make test``) changes nothing and
exits 1, naming the file, when the table is stale.

The specs are built for placeholder targets that read well in a document (``<stack>``,
``<signerFunctionName>``); only the names differ from a deployed stack, never a threshold.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from infra import jobs, signer
from infra.config import PROJECT, JobsConfig
from infra.monitoring import alarms
from infra.monitoring.alarms import AlarmSpec, AlarmTargets, Metric

REPO_ROOT = Path(__file__).resolve().parent.parent
OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"
START, END = "<!-- alarms:start -->", "<!-- alarms:end -->"

PLACEHOLDER_TARGETS = AlarmTargets(
    stack="<stack>",
    name_prefix=f"{PROJECT}-<stack>",
    region="<region>",
    signer_function_name="<signerFunctionName>",
    signer_timeout_seconds=signer.TIMEOUT_SECONDS,
    api_id="<apiId>",
    distribution_id="<distributionId>",
    health_check_function_name=f"{PROJECT}-<stack>-healthcheck",
    waf_web_acl_name=f"{PROJECT}-<stack>-cdn",
    # With the webhook configured, so its dead-letter alarm is listed too.
    jobs=jobs.jobs_alarm_targets(
        JobsConfig(
            name_prefix=f"{PROJECT}-<stack>",
            region="<region>",
            prefix="<prefix>",
            job_retention_days=1,
            log_retention_days=1,
            webhook_url="https://<webhookUrl>",
            webhook_secret_name="<webhookSecretName>",  # noqa: S106 -- a placeholder name
        )
    ),
    # Only with `transcoding` on (docs/transcoding.md).
    transcoding_function_name=f"{PROJECT}-<stack>-transcoding",
)

COMPARISONS = {
    "GreaterThanOrEqualToThreshold": "≥",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
}
MISSING_DATA = {
    "notBreaching": "not breaching",
    "breaching": "**breaching**",
    "ignore": "ignored",
    "missing": "missing",
}
HEADER = (
    "| Alarm (`<what>`) | Metric | Fires when | Missing data | What to check | Region |",
    "|---|---|---|---|---|---|",
)


class StaleDocError(RuntimeError):
    """The document cannot take a generated table (its markers are missing or out of order)."""


# A name with a <placeholder> in prose (a log group): set as code, or Markdown drops it as a tag.
PLACEHOLDER_NAME = re.compile(r"[^\s()`']*<[^\s()`']*>[^\s()`',.]*")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _prose(text: str) -> str:
    return PLACEHOLDER_NAME.sub(lambda m: f"`{m.group(0)}`", text)


def _metric(metric: Metric) -> str:
    dimensions = ", ".join(f"{key} `{value}`" for key, value in metric.dimensions.items())
    described = f"`{metric.namespace}` `{metric.name}` {metric.stat}"
    return f"{described} ({dimensions})" if dimensions else described


def _watches(spec: AlarmSpec) -> str:
    if spec.metric is not None:
        return _metric(spec.metric)
    over = "; ".join(f"`{query_id}` = {_metric(m)}" for query_id, m in spec.metrics.items())
    return f"`{spec.expression}` over {over}"


def _fires_when(spec: AlarmSpec) -> str:
    value = spec.expression_label if spec.metric is None else spec.metric.stat
    minutes = alarms.PERIOD_SECONDS // 60
    comparison = COMPARISONS.get(spec.comparison, spec.comparison)
    during = f"in {minutes} min" if spec.periods == 1 else f"for {spec.periods} × {minutes} min"
    return f"{value} {comparison} {spec.threshold:g} {during}"


def table(specs: Sequence[AlarmSpec], texts: Mapping[str, str]) -> str:
    """The Markdown table: one row per alarm, in the order the stack declares them."""
    rows = [
        "| "
        + " | ".join(
            _cell(cell)
            for cell in (
                f"`{spec.what}`",
                _watches(spec),
                _fires_when(spec),
                MISSING_DATA.get(spec.treat_missing_data, spec.treat_missing_data),
                _prose(texts[spec.what]),
                spec.region or "the stack's",
            )
        )
        + " |"
        for spec in specs
    ]
    return "\n".join([*HEADER, *rows])


def current_table() -> str:
    """The table for the alarm specs in the code now (looked up at call time)."""
    return table(alarms.alarm_specs(PLACEHOLDER_TARGETS), alarms.runbooks(PLACEHOLDER_TARGETS))


def rewrite(document: str, generated: str) -> str:
    """``document`` with everything between the markers replaced by ``generated``."""
    start, end = document.find(START), document.find(END)
    if start < 0 or end < start:
        raise StaleDocError(f"needs {START} and then {END} around the alarm table")
    return f"{document[: start + len(START)]}\n{generated}\n{document[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.alarm_table", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the table is stale; write nothing")
    parser.add_argument("--path", type=Path, default=OPERATIONS_DOC, help="the document (docs/operations.md)")
    args = parser.parse_args(argv)
    path: Path = args.path
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    try:
        document = path.read_text()
        updated = rewrite(document, current_table())
    except (OSError, StaleDocError) as error:
        print(f"{shown}: {error}", file=sys.stderr)
        return 1
    if updated == document:
        if not args.check:
            print(f"{shown}: alarm table up to date")
        return 0
    if args.check:
        print(
            f"{shown}: the alarm table is stale (the alarm specs changed): run `make docs` and commit",
            file=sys.stderr,
        )
        return 1
    path.write_text(updated)
    print(f"{shown}: alarm table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
