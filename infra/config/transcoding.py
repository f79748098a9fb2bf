"""The ``transcoding`` slice: cloud transcoding on MediaConvert (docs/transcoding.md), off by default.

Its keys are read here, not in ``infra/config/__init__.py``, so the switch and its limits live in
one place; ``parse`` calls :func:`transcoding_config` and the slice is None when the switch is off
(nothing of transcoding is declared).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from infra.config import values as v
from lambda_src.sign_uploads import transcoding as limits

# Key -> default. Merged into config.DEFAULTS (the known keys).
DEFAULTS: dict[str, object] = {
    "transcoding": False,
    "transcodingMaxDurationSeconds": limits.DEFAULT_MAX_DURATION_SECONDS,
    "transcodingMaxSourceBytes": limits.DEFAULT_MAX_SOURCE_BYTES,
    "transcoding1080p": False,
    "transcodingConcurrentJobs": 5,
    "transcodingSdRatePerMinute": limits.DEFAULT_SD_RATE_PER_MINUTE,
    "transcodingHdRatePerMinute": limits.DEFAULT_HD_RATE_PER_MINUTE,
    "transcodingMonthlyBudgetUsd": 50,
}
# MediaConvert's duration limit per input is far above this; a day of video is a budget decision.
MAX_DURATION_LIMIT_SECONDS = 86_400
# The raw video arrives through the signer (one PUT): it can never exceed S3's single-PUT limit.
MAX_SOURCE_LIMIT_BYTES = 5 * 1024**3
# On-demand queues share the account's concurrent-job quota (docs/transcoding.md).
MAX_CONCURRENT_JOBS = 100


@dataclass(frozen=True)
class TranscodingConfig:
    """``infra/transcoding.py`` Transcoding (absent when ``transcoding`` is false)."""

    name_prefix: str
    stack: str
    region: str
    prefix: str
    log_retention_days: int
    max_duration_seconds: int
    max_source_bytes: int
    include_1080p: bool
    concurrent_jobs: int
    sd_rate_per_minute: float
    hd_rate_per_minute: float
    monthly_budget_usd: float
    # The stack's tags: the budget filters costs on the ``stack`` tag.
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def function_name(self) -> str:
        return f"{self.name_prefix}-transcoding"

    @property
    def dead_letter_queue_name(self) -> str:
        """The queue of events the function never took (the alarm names it as ``<function>-dlq``)."""
        return f"{self.function_name}-dlq"

    @property
    def queue_name(self) -> str:
        return f"{self.name_prefix}-transcoding"

    @property
    def mediaconvert_role_name(self) -> str:
        return f"{self.name_prefix}-mediaconvert"


def transcoding_config(
    raw: Mapping[str, str], *, name_prefix: str, stack: str, region: str, prefix: str, retention: int,
    tags: Mapping[str, str],
) -> TranscodingConfig | None:  # fmt: skip
    if not v.boolean(raw, "transcoding", bool(DEFAULTS["transcoding"])):
        return None

    def rate(key: str) -> float:
        return v.number(raw, key, float(DEFAULTS[key]), 0, 10)  # type: ignore[arg-type]

    return TranscodingConfig(
        name_prefix=name_prefix,
        stack=stack,
        region=region,
        prefix=prefix,
        log_retention_days=retention,
        max_duration_seconds=v.integer(
            raw,
            "transcodingMaxDurationSeconds",
            limits.DEFAULT_MAX_DURATION_SECONDS,
            1,
            MAX_DURATION_LIMIT_SECONDS,
        ),
        max_source_bytes=v.integer(
            raw, "transcodingMaxSourceBytes", limits.DEFAULT_MAX_SOURCE_BYTES, 1, MAX_SOURCE_LIMIT_BYTES
        ),
        include_1080p=v.boolean(raw, "transcoding1080p", False),
        concurrent_jobs=v.integer(raw, "transcodingConcurrentJobs", 5, 1, MAX_CONCURRENT_JOBS),
        sd_rate_per_minute=rate("transcodingSdRatePerMinute"),
        hd_rate_per_minute=rate("transcodingHdRatePerMinute"),
        monthly_budget_usd=v.number(raw, "transcodingMonthlyBudgetUsd", 50, 1, 1_000_000),
        tags=dict(tags),
    )
