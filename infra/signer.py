"""The upload signer: a Lambda whose role may only PUT under the upload prefix."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra import packaging, policies
from lambda_src.sign_uploads import config as signer_config

RUNTIME = "python3.13"
ARCHITECTURE = "arm64"
MEMORY_MB = 256
TIMEOUT_SECONDS = 10
SOURCE_DIR = packaging.LAMBDA_SRC / "sign_uploads"


@dataclass(frozen=True)
class UploadSignerArgs:
    function_name: str
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    prefix: str
    public_base_url: pulumi.Input[str]
    url_ttl_seconds: int
    max_files: int
    max_file_bytes: int
    auth_required: bool
    log_retention_days: int
    source_dir: Path = SOURCE_DIR
    # Existing resources to import instead of create, by `adopt` key (see ADOPTABLE).
    adopt: Mapping[str, str] = field(default_factory=dict)


ADOPTABLE = ("signerRole", "signerFunction")


class UploadSigner(pulumi.ComponentResource):
    """Owns the signer's role (trust + inline permissions), its log group and the function."""

    def __init__(self, name: str, args: UploadSignerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:signer:UploadSigner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{args.function_name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=f"{args.function_name}-role",
            description="Signs upload URLs: PutObject under the upload prefix, its own logs, nothing else",
            assume_role_policy=json.dumps(policies.lambda_trust_policy()),
            opts=pulumi.ResourceOptions(parent=self, import_=args.adopt.get("signerRole")),
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-permissions",
            name="sign-uploads",
            role=self.role.id,
            policy=pulumi.Output.all(args.bucket_arn, self.log_group.arn).apply(
                lambda arns: json.dumps(policies.signer_permissions(arns[0], args.prefix, arns[1]))
            ),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            name,
            name=args.function_name,
            description="Returns pre-signed S3 PUT URLs for an upload job",
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler="handler.handler",
            code=packaging.function_archive(args.source_dir),
            memory_size=MEMORY_MB,
            timeout=TIMEOUT_SECONDS,
            role=self.role.arn,
            environment={
                "variables": signer_config.environment(
                    bucket=args.bucket_name,
                    prefix=args.prefix,
                    public_base_url=args.public_base_url,
                    url_ttl_seconds=args.url_ttl_seconds,
                    max_files=args.max_files,
                    max_file_bytes=args.max_file_bytes,
                    auth_required=args.auth_required,
                )
            },
            logging_config={"logFormat": "JSON", "logGroup": self.log_group.name},
            # The role's permissions must exist before the first invocation signs anything.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.role_policy, self.log_group],
                import_=args.adopt.get("signerFunction"),
            ),
        )

        self.register_outputs(
            {
                "functionName": self.function.name,
                "functionArn": self.function.arn,
                "roleArn": self.role.arn,
                "logGroupName": self.log_group.name,
            }
        )
