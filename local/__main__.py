"""``make dev``: the whole upload pipeline on this machine, in the foreground until Ctrl-C.

python -m local [--host 127.0.0.1]      PORT (8700) and S3_PORT (8701) choose the ports
python -m local token --sub alice        a bearer token (JWT) the local gateway accepts for 'alice'
"""

from __future__ import annotations

import argparse
import logging
import sys

from local.settings import DEFAULT_HOST, LocalSettings, LocalStackError
from local.stack import LocalStack
from local.tokens import LocalTokens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="interface to bind (default loopback; 0.0.0.0 serves a device on the LAN)",
    )
    parser.add_argument("command", nargs="?", choices=["token"], help="token: print a bearer token and exit")
    parser.add_argument("--sub", default="local-user", help="the token's subject (with: token)")
    parser.add_argument("--ttl", type=int, default=3600, help="the token's lifetime in seconds (with: token)")
    args = parser.parse_args(argv)
    if args.command == "token":
        if not args.sub or args.ttl <= 0:
            parser.error("--sub must not be empty and --ttl must be positive")
        print(LocalTokens(LocalSettings.from_env().data_dir).issue(args.sub, ttl_seconds=args.ttl))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines

    try:
        settings = LocalSettings.from_env(host=args.host)
        if settings.serves_all_interfaces:
            print(
                "WARNING: --host 0.0.0.0 serves the signer, the CDN, the processor and the S3 endpoint to "
                "every machine on this network. The signer signs for anyone (a bearer token is optional locally) and the "
                "CDN serves any uploaded object: use it on a trusted LAN only. The S3 emulator itself "
                "listens on no port; its admin API is unreachable.",
                file=sys.stderr,
            )
        stack = LocalStack(settings)
        if stack.advertise_note:
            print(f"NOTE: {stack.advertise_note}", file=sys.stderr)
        stack.check_ports()
        config_path = stack.write_cdn_config()
    except Exception as error:  # a clear line instead of a traceback
        print(f"make dev: {error}", file=sys.stderr)
        return 1

    config = stack.cdn_config()
    print(
        "\n".join(
            [
                "lux-video local stack",
                f"  signer API      POST {config['signerEndpoint']}",
                f"  multipart       {stack.base_url}/s3/multipart  (Uppy companionEndpoint {stack.base_url};"
                " POST /s3/sign, POST /s3/multipart/plan: docs/multipart.md)",
                f"  CDN             {config['cdnBaseUrl']}/{config['uploadPrefix']}<jobId>/<path>",
                f"  processor       POST {config['processorEndpoint']}   (multipart field 'file')",
                f"  job status      GET  {config['processorEndpoint']}/<jobId>",
                f"  upload jobs     GET|DELETE {config['jobsEndpoint']}<jobId>   (docs/jobs.md)",
                f"  events          one JSON line below per event, and {stack.bus.events_path}",
                *webhook_lines(stack),
                "  bearer tokens   python -m local token --sub alice   (optional: without one, anonymous)",
                f"  S3 endpoint     {stack.s3_endpoint_url}  (bucket {stack.config.bucket_name}; SigV4 and CORS enforced)",
                f"  app config      {config_path}",
                "Ctrl-C to stop. Objects live in memory and are gone after a restart.",
            ]
        ),
        flush=True,
    )
    try:
        stack.serve_forever()
    except LocalStackError as error:
        print(f"make dev: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def webhook_lines(stack: LocalStack) -> list[str]:
    if not stack.settings.webhook_url:
        return ["  webhook         off (WEBHOOK_URL=<url> POSTs every event there)"]
    lines = [f"  webhook         POST {stack.settings.webhook_url}"]
    if stack.settings.webhook_secret:
        lines.append("                  X-Lux-Webhook-Token: the value of WEBHOOK_SECRET")
    else:
        lines.append(
            f"                  X-Lux-Webhook-Token: {stack.webhook_token}  (generated: set WEBHOOK_SECRET)"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
