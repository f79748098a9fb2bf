"""The CrossGuard validate callables: thin adapters from pulumi-policy's arguments to the pure rules.

Kept apart from ``policy/__main__.py`` because constructing a ``PolicyPack`` starts the pack's gRPC
server and blocks; this module never does, so the tests import and run these callables directly,
on the recorded resources of every stack and on deliberately broken inputs.

Values unknown during a preview raise pulumi-policy's ``UnknownValueError`` when a rule reads them;
it is left to propagate, as the pack's server treats it as "cannot tell yet", not as a failure.
"""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import (
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy import rules

ResourceValidate = Callable[[ResourceValidationArgs, ReportViolation], None]
StackValidate = Callable[[StackValidationArgs, ReportViolation], None]


def resource_validator(rule: rules.ResourceRule) -> ResourceValidate:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule(args.resource_type, args.props):
            report_violation(message, args.urn)

    validate.__name__ = f"validate_{rule.__name__}"
    return validate


def stack_validator(rule: Callable[[list[rules.StackResource]], list[str]]) -> StackValidate:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [rules.StackResource(r.urn, r.resource_type, r.props) for r in args.resources]
        for message in rule(resources):
            report_violation(message, None)

    validate.__name__ = f"validate_{rule.__name__}"
    return validate


RESOURCE_VALIDATORS: dict[str, ResourceValidate] = {
    name: resource_validator(rule) for name, (_, rule) in rules.RESOURCE_RULES.items()
}
STACK_VALIDATORS: dict[str, StackValidate] = {
    name: stack_validator(rule) for name, (_, rule) in rules.STACK_RULES.items()
}


def policies() -> list[Policy]:
    """Every rule as a CrossGuard policy (the pack's enforcement level applies: mandatory)."""
    resource_policies: list[Policy] = [
        ResourceValidationPolicy(name=name, description=rules.RESOURCE_RULES[name][0], validate=validate)
        for name, validate in RESOURCE_VALIDATORS.items()
    ]
    stack_policies = [
        StackValidationPolicy(name=name, description=rules.STACK_RULES[name][0], validate=validate)
        for name, validate in STACK_VALIDATORS.items()
    ]
    return [*resource_policies, *stack_policies]
