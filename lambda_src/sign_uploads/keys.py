"""Where a job's files live in the bucket: the key layout, owned here once.

The handler signs under it; the bucket policy, the health check's delete grant and the lifecycle
rules (``infra/policies.py``) are written against it. Standard library only (ships in the zip).
"""

from __future__ import annotations

import hashlib

# Contains a '.', which no jobId can: a subject's folder is never a jobId's folder.
SUBJECT_NAMESPACE_PREFIX = "sub."


def job_prefix(prefix: str, subject: str | None, job_id: str) -> str:
    """``PREFIX + jobId + "/"``, or with a subject ``PREFIX + "sub." + H(sub) + "/" + jobId + "/"``.

    The hash keeps user ids out of public URLs; the '.' keeps every subject's folder apart from
    every anonymous jobId's folder, and SHA-256 keeps subjects apart from each other.
    """
    if subject is None:
        return f"{prefix}{job_id}/"
    return f"{prefix}{SUBJECT_NAMESPACE_PREFIX}{subject_hash(subject)}/{job_id}/"


def subject_hash(subject: str) -> str:
    digest = hashlib.sha256(b"lux-video/upload-subject\x00" + subject.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]
