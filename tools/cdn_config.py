"""The app's ``assets/config/cdn_config.json``, generated from a stack's outputs.

``python -m tools.cdn_config --stack dev`` (``make cdn-config STACK=dev``) reads
``pulumi stack output --json --stack dev`` (or a saved copy with ``--outputs saved.json``), maps the
outputs to the app's keys, validates the result against ``schemas/cdn_config.schema.json`` and
writes it (default ``build/cdn_config.<stack>.json``). A missing or malformed output fails with a
message naming the output, before anything is written: a broken config must never reach the app.

Pure and pulumi-free, so the tests, the local stack and CI can all use :func:`build` and
:func:`validate`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO_ROOT / "schemas" / "cdn_config.schema.json"

# App config key -> (stack output it comes from, the JSON type it must have).
FROM_OUTPUTS: dict[str, tuple[str, type]] = {
    "signerEndpoint": ("signerEndpoint", str),
    "jobsEndpoint": ("jobsEndpoint", str),
    "cdnBaseUrl": ("cdnBaseUrl", str),
    "uploadPrefix": ("uploadPrefix", str),
    "region": ("region", str),
    "authRequired": ("authRequired", bool),
    "maxFileBytes": ("maxFileBytes", int),
}


class CdnConfigError(ValueError):
    """The outputs cannot make a valid app config; ``key`` names the output or field at fault."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        super().__init__(f"{key}: {problem}")


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def build(outputs: Mapping[str, Any], environment: str) -> dict[str, Any]:
    """The app config from stack outputs (as ``pulumi stack output --json`` prints them)."""
    config: dict[str, Any] = {}
    for field, (output, kind) in FROM_OUTPUTS.items():
        if output not in outputs or outputs[output] is None:
            raise CdnConfigError(output, "missing from the stack outputs (was the stack deployed?)")
        value = outputs[output]
        # bool is an int in Python: a true/false maxFileBytes is as wrong as a string.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CdnConfigError(output, f"must be a JSON {_json_type(kind)}, got {value!r}")
        config[field] = value
    config["environment"] = environment
    # Optional: only a stack with cloud transcoding has it (the app uploads a raw source.<ext>).
    transcoding = outputs.get("transcoding")
    if transcoding is not None and not isinstance(transcoding, bool):
        raise CdnConfigError("transcoding", f"must be a JSON boolean, got {transcoding!r}")
    if transcoding:
        config["cloudTranscoding"] = True
    validate(config)
    return config


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def validate(config: Mapping[str, Any]) -> None:
    """Check ``config`` against the schema (and ``jobsEndpoint`` against the signer's host); the
    error names the first offending field."""
    errors = sorted(
        jsonschema.Draft202012Validator(schema()).iter_errors(dict(config)),
        key=lambda e: (list(e.absolute_path), e.message),
    )
    if not errors:
        jobs, signer = str(config["jobsEndpoint"]), str(config["signerEndpoint"])
        if _origin(jobs) != _origin(signer):
            raise CdnConfigError(
                "jobsEndpoint", f"must be on the signer's host {_origin(signer)}, got {jobs}"
            )
        return
    error = errors[0]
    if error.absolute_path:
        field = ".".join(str(p) for p in error.absolute_path)
    elif error.validator == "required" or error.validator == "additionalProperties":
        field = error.message.split("'")[1]
    else:
        field = "(config)"
    raise CdnConfigError(field, error.message)


def _json_type(kind: type) -> str:
    return {str: "string", bool: "boolean", int: "integer"}[kind]


def stack_outputs(stack: str) -> dict[str, Any]:
    """``pulumi stack output --json --stack <stack>`` (needs the CLI and the stack's backend)."""
    if shutil.which("pulumi") is None:
        raise CdnConfigError(
            "pulumi", "the Pulumi CLI is not on PATH: install it, or pass saved outputs with --outputs"
        )
    result = subprocess.run(
        ["pulumi", "stack", "output", "--json", "--stack", stack],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    if result.returncode != 0:
        raise CdnConfigError("pulumi", f"`pulumi stack output` failed: {result.stderr.strip()}")
    return _outputs_object(result.stdout, "pulumi stack output")


def _outputs_object(text: str, source: str) -> dict[str, Any]:
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as error:
        raise CdnConfigError("outputs", f"{source} is not JSON: {error}") from None
    if not isinstance(outputs, dict):
        raise CdnConfigError("outputs", f"{source} must be a JSON object of stack outputs")
    return outputs


def write(config: Mapping[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name; also the config's `environment`")
    parser.add_argument(
        "--outputs", type=Path, help="saved `pulumi stack output --json` (default: ask pulumi)"
    )
    parser.add_argument("--out", type=Path, help="where to write (default build/cdn_config.<stack>.json)")
    args = parser.parse_args(argv)
    try:
        if args.outputs is not None:
            if not args.outputs.is_file():
                raise CdnConfigError("outputs", f"no such file {args.outputs}")
            outputs = _outputs_object(args.outputs.read_text(), str(args.outputs))
        else:
            outputs = stack_outputs(args.stack)
        config = build(outputs, args.stack)
    except CdnConfigError as error:
        print(f"cdn-config failed for stack {args.stack}: {error}", file=sys.stderr)
        return 1
    out = args.out or REPO_ROOT / "build" / f"cdn_config.{args.stack}.json"
    write(config, out)
    print(f"{out}: {', '.join(f'{k}={v}' for k, v in sorted(config.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
