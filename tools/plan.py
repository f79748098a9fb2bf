"""Offline plan: run the Pulumi program under recording mocks and write what it declares.

``python -m tools.plan --stack dev`` (``make plan``) runs ``__main__.py`` exactly as the tests do:
Pulumi's unit-test mocks stand in for the engine and the AWS provider, every resource registration
is recorded (type, name, parent, import ID, protect flag, inputs) together with the stack outputs,
and the result is written as sorted, indented JSON. Policy documents held as JSON strings are
rendered as objects so a diff of two plans reads like a diff of the policies. Mock IDs and ARNs
derive from resource names only, so two runs produce byte-identical files.

A reviewer without AWS credentials diffs ``build/plan-<stack>.json`` of two commits to see what a
change does to the stack.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from infra.config import PROJECT, engine_config, stack_file_config
from tools.plan_mocks import RecordingMocks

REPO_ROOT = Path(__file__).resolve().parent.parent


# How an input whose value is unknown at plan time is shown: {"<unknown>": "an output of <resource>"}.
UNKNOWN_KEY = "<unknown>"


class PlanError(RuntimeError):
    """The program could not be planned (bad config, unresolved values, ...)."""


@dataclass
class RecordedResource:
    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    import_id: str | None = None
    protect: bool = False
    id: str | None = None
    provider: str | None = None
    # The URNs this resource was known by before (pulumi aliases): a move, not a replacement.
    aliases: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "inputs": render(self.inputs),
        }
        if self.import_id:
            entry["import"] = self.import_id
        if self.provider:
            # An explicit provider (e.g. us-east-1 for CloudFront alarms): its URN, without the mock ID.
            entry["provider"] = (
                self.provider.rsplit("::", 1)[0] if self.provider.count("::") > 3 else self.provider
            )
        if self.protect:
            entry["protect"] = True
        if self.aliases:
            entry["aliases"] = sorted(self.aliases)
        return entry


@dataclass
class Plan:
    stack: str
    config: dict[str, str]
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise LookupError(f"expected one {type_}{f' named {name}' if name else ''}, found {names}")
        return found[0]

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "project": PROJECT,
            "config": dict(sorted(self.config.items())),
            "resources": [r.as_json() for r in sorted(self.resources, key=lambda r: r.urn)],
            "outputs": render(self.outputs),
        }

    def to_text(self) -> str:
        return json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping what the engine would see of each registration that the
    Mocks API does not pass on: the parent, the import ID and the protect flag."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = dict(rpc.deserialize_properties(request.object, keep_unknowns=True))
            # An input that depends on another resource but arrived without a value was unknown
            # (the mock has no value for the attribute it reads): shown, never silently dropped.
            for prop, deps in request.propertyDependencies.items():
                if _has_unknown(inputs.get(prop)) and deps.urns:
                    sources = ", ".join(sorted(urn.rsplit("::", 1)[-1] for urn in deps.urns))
                    inputs[prop] = _mark_unknown(inputs[prop], f"an output of {sources}")
            parent = request.parent or None
            if parent is not None and parent.endswith("::" + f"{PROJECT}-{pulumi.get_stack()}"):
                parent = None  # the root stack: shown as no parent
            self.recorded.append(
                RecordedResource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=parent,
                    custom=bool(request.custom),
                    inputs=dict(inputs),
                    import_id=request.importId or None,
                    protect=bool(request.protect),
                    provider=request.provider or None,
                    id=response.id or None,
                    aliases=[alias_urn(alias, request.type, request.name) for alias in request.aliases],
                )
            )
        return response


def _is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def _has_unknown(value: Any) -> bool:
    if _is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_unknown(v) for v in value)
    return False


def _mark_unknown(value: Any, source: str) -> Any:
    """Every unknown inside ``value`` becomes ``{"<unknown>": source}``."""
    if _is_unknown(value):
        return {UNKNOWN_KEY: source}
    if isinstance(value, Mapping):
        return {k: _mark_unknown(v, source) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mark_unknown(v, source) for v in value]
    return value


def alias_urn(alias: Any, type_: str, name: str) -> str:
    """The URN an alias (a full URN, or a spec of what changed) stands for, as the engine would
    compute it: unchanged parts come from the resource itself."""
    if alias.urn:
        return str(alias.urn)
    spec = alias.spec
    stack, project = spec.stack or pulumi.get_stack(), spec.project or PROJECT
    parent_types = ""
    if spec.parentUrn:
        # urn:pulumi:<stack>::<project>::<type chain>::<name>: the parent's chain prefixes ours.
        chain = spec.parentUrn.split("::")[2]
        parent_types = chain.removeprefix("pulumi:pulumi:Stack$") + "$"
        if chain == "pulumi:pulumi:Stack":
            parent_types = ""
    return f"urn:pulumi:{stack}::{project}::{parent_types}{spec.type or type_}::{spec.name or name}"


def render(value: Any) -> Any:
    """Plain JSON for the plan: assets as file digests, JSON documents in strings as objects."""
    if isinstance(value, Mapping):
        return {str(k): render(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [render(v) for v in value]
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {name: render(asset) for name, asset in sorted(value.assets.items())}}
    if isinstance(value, pulumi.FileAsset):
        path = Path(value.path)
        return {"file": _relative(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return render(json.loads(value))
        except json.JSONDecodeError:
            return value
    return value


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


@contextmanager
def isolated_runtime() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop and fresh runtime settings, so runs never leak into each other."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        pulumi.runtime.settings.reset_options()
        pulumi.runtime.set_all_config({})
        loop.close()
        asyncio.set_event_loop(None)


@contextmanager
def _missing_outputs_unknown() -> Iterator[None]:
    """An attribute the mock does not compute (a KMS key's keyId, say) would resolve as a known
    ``None`` and every input built from it would silently vanish from the plan. Resolve it as
    *unknown* instead, the way a preview shows it: the recorder then names its source."""
    original = rpc.resolve_outputs

    def resolve_outputs(*args: Any, **kwargs: Any) -> Any:
        kwargs["resolve_missing_as_unknown"] = True
        return original(*args, **kwargs)

    rpc.resolve_outputs = resolve_outputs  # type: ignore[assignment]
    try:
        yield
    finally:
        rpc.resolve_outputs = original  # type: ignore[assignment]


def record(stack: str, config: Mapping[str, str], build: Callable[[], Mapping[str, Any] | None]) -> Plan:
    """Call ``build`` under recording mocks and return what it declared.

    The one way a plan is made, for the whole program (:func:`run`) and for one component (the
    tests' ``component_plan``): a fresh runtime, ``preview=False`` inside ``@pulumi.runtime.test``,
    ``config`` (engine form: strings) set for the run, and the outputs ``build`` returns (name ->
    input) awaited and kept as the plan's outputs. An exception in ``build`` or in any ``apply`` is
    raised here; an input or output still unknown afterwards is a :class:`PlanError`.
    """
    region = config.get("aws:region", "us-west-2")
    mocks = RecordingMocks(region)
    monitor = RecordingMonitor(mocks)
    plan = Plan(stack=stack, config=dict(config))
    expected: list[str] = []

    with isolated_runtime(), _missing_outputs_unknown():
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
        pulumi.runtime.set_all_config(dict(config))

        @pulumi.runtime.test
        def program_run() -> pulumi.Output[Any]:
            outputs = build() or {}
            if not isinstance(outputs, Mapping):
                raise TypeError(f"a plan's build returns its outputs as name -> value, got {outputs!r}")
            expected.extend(outputs)
            # Wait for every output, so a value that never resolves is an error, not a silent gap.
            return pulumi.Output.all(
                *(
                    pulumi.Output.from_input(value).apply(partial(plan.outputs.__setitem__, name))
                    for name, value in outputs.items()
                )
            )

        program_run()

    # An unknown output never reaches its callback above (nor any apply on it): name it.
    missing = sorted(set(expected) - set(plan.outputs))
    if missing:
        raise PlanError(
            f"outputs {', '.join(missing)} unknown after the run: a mock is missing a computed attribute"
        )
    plan.resources = list(monitor.recorded)
    _reject_unknowns(plan)
    return plan


def run(stack: str, config: Mapping[str, Any] | None = None, program: Path | None = None) -> Plan:
    """Run the program for ``stack`` under recording mocks (``preview=False``: every output resolves).

    ``config`` replaces the stack file's config map (keys fully qualified, e.g. ``lux-video:prefix``).
    """

    def program_run() -> dict[str, Any]:
        exported: dict[str, Any] = {}

        def capture(name: str, value: Any) -> None:
            exported[name] = value

        original_export = pulumi.export
        pulumi.export = capture  # type: ignore[assignment]
        try:
            runpy.run_path(str(program or REPO_ROOT / "__main__.py"), run_name="__main__")
        finally:
            pulumi.export = original_export  # type: ignore[assignment]
        return exported

    return record(stack, engine_config(stack_file_config(stack) if config is None else config), program_run)


def _reject_unknowns(plan: Plan) -> None:
    def walk(value: Any, where: str) -> None:
        if value == rpc.UNKNOWN:
            raise PlanError(f"{where} is unknown after the run: a mock is missing a computed attribute")
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")

    for resource in plan.resources:
        walk(resource.inputs, f"{resource.type} {resource.name}")
    walk(plan.outputs, "outputs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev", help="stack name (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--out", type=Path, help="output file (default build/plan-<stack>.json)")
    args = parser.parse_args(argv)
    try:
        plan = run(args.stack)
    except Exception as error:  # config and plan errors: one clear line, no traceback
        print(f"plan failed for stack {args.stack}: {error}", file=sys.stderr)
        return 1
    out = args.out or REPO_ROOT / "build" / f"plan-{args.stack}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(plan.to_text())
    print(
        f"{out.relative_to(REPO_ROOT) if out.is_relative_to(REPO_ROOT) else out}: "
        f"{len(plan.resources)} resources, outputs: {', '.join(sorted(plan.outputs))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
