"""The upload signer: a Lambda whose role may only PUT under the upload prefix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import packaging, policies
from infra.config import SignerConfig
from infra.lambda_function import PythonFunctionArgs, python_function
from lambda_src.sign_uploads import config as signer_config

MEMORY_MB = 256
TIMEOUT_SECONDS = 10
SOURCE_DIR = packaging.LAMBDA_SRC / "sign_uploads"


@dataclass(frozen=True)
class UploadSignerArgs:
    config: SignerConfig
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    public_base_url: pulumi.Input[str]
    region: str
    # The job table (infra/jobs.py): the signer records every job there (None: no recording).
    jobs_table_name: pulumi.Input[str] | None = None
    jobs_table_arn: pulumi.Input[str] | None = None
    job_retention_days: int | None = None


def function_environment(
    config: SignerConfig,
    *,
    bucket_name: pulumi.Input[str],
    public_base_url: pulumi.Input[str],
    **jobs: Any,
) -> dict[str, Any]:
    """The signer's variables (``lambda_src/sign_uploads/config.py`` ``environment()``): the jobs
    function runs the same code with the same values, plus its own (``jobs``: the table, the
    retention, the bus and the distribution)."""
    return signer_config.environment(
        bucket=bucket_name,
        prefix=config.prefix,
        public_base_url=public_base_url,
        url_ttl_seconds=config.url_ttl_seconds,
        max_files=config.max_files,
        max_file_bytes=config.max_file_bytes,
        auth_required=config.auth_required,
        health_check_role_name=config.health_check_role_name,
        subject_key_secret_id=config.subject_key_secret_name,
        max_multipart_file_bytes=config.max_multipart_file_bytes,
        **jobs,
    )


def subject_key_secret_arn(config: SignerConfig, region: str, account_id: str) -> str | None:
    """The ARN pattern of the subject-key secret (with JWT), for a role that must read it."""
    if config.subject_key_secret_name is None:
        return None
    return policies.secret_arn_pattern(region, account_id, config.subject_key_secret_name)


class UploadSigner(pulumi.ComponentResource):
    """Owns the signer's role (trust + inline permissions), its log group and the function."""

    def __init__(self, name: str, args: UploadSignerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lux:signer:UploadSigner", name, None, opts)
        config = args.config
        account_id = aws.get_caller_identity_output().account_id
        deployed = python_function(
            name,
            PythonFunctionArgs(
                function_name=config.function_name,
                description="Returns pre-signed S3 PUT URLs for an upload job",
                role_description="Signs upload URLs: PutObject under the upload prefix, its own logs, nothing else",
                policy_name="sign-uploads",
                permissions=lambda log_group_arn: pulumi.Output.all(
                    args.bucket_arn, account_id, args.jobs_table_arn
                ).apply(
                    lambda v: policies.signer_permissions(
                        v[0],
                        config.prefix,
                        log_group_arn,
                        subject_key_secret_arn(config, args.region, v[1]),
                        jobs_table_arn=v[2],
                    )
                ),
                source_dir=SOURCE_DIR,
                memory_mb=MEMORY_MB,
                timeout_seconds=TIMEOUT_SECONDS,
                log_retention_days=config.log_retention_days,
                environment=function_environment(
                    config,
                    bucket_name=args.bucket_name,
                    public_base_url=args.public_base_url,
                    jobs_table=args.jobs_table_name,
                    job_retention_days=args.job_retention_days,
                ),
                role_import_id=config.adopt.get("signerRole"),
                function_import_id=config.adopt.get("signerFunction"),
            ),
            parent=self,
        )
        self.log_group, self.role, self.function = deployed.log_group, deployed.role, deployed.function
        self.role_policy = deployed.role_policy
        self.register_outputs(
            {
                "functionName": self.function.name,
                "functionArn": self.function.arn,
                "roleArn": self.role.arn,
                "logGroupName": self.log_group.name,
            }
        )
