"""Where a job's files live in the bucket: the key layout, owned here once.

The handler signs under it; the bucket policy, the health check's delete grant and the lifecycle
rules (``infra/policies/``) are written against it. Standard library only (ships in the zip).
"""

from __future__ import annotations

import hmac

# Contains a '.', which no jobId can: a subject's folder is never a jobId's folder.
SUBJECT_NAMESPACE_PREFIX = "sub."
# JobIds starting with this belong to the synthetic health check: its role may delete their probe
# objects and a lifecycle rule expires them after a day, so nobody else may sign one. The signer
# accepts them only on the IAM-authorized health-check route (contract.HEALTH_CHECK_ROUTE).
HEALTH_CHECK_JOB_PREFIX = "healthcheck-"


def job_prefix(prefix: str, subject: str | None, job_id: str, subject_key: bytes | None = None) -> str:
    """``PREFIX + jobId + "/"``, or with a subject ``PREFIX + "sub." + H(sub) + "/" + jobId + "/"``.

    The keyed hash keeps user ids out of public URLs and, unlike a plain hash, cannot be computed
    from a guessed ``sub`` without the key; the '.' keeps every subject's folder apart from every
    anonymous jobId's folder, and HMAC-SHA256 keeps subjects apart from each other.
    """
    if subject is None:
        return f"{prefix}{job_id}/"
    if subject_key is None:
        raise ValueError("a subject's folder needs the subject key")
    return f"{prefix}{SUBJECT_NAMESPACE_PREFIX}{subject_hash(subject_key, subject)}/{job_id}/"


def subject_hash(key: bytes, subject: str) -> str:
    """``HMAC-SHA256(key, UTF-8(sub))`` as hex, first 32 characters (128 bits)."""
    return hmac.new(key, subject.encode("utf-8", "surrogatepass"), "sha256").hexdigest()[:32]
