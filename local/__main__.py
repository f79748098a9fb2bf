"""``make dev``: the whole upload pipeline on this machine, in the foreground until Ctrl-C.

python -m local [--host 127.0.0.1]      PORT (8700) and S3_PORT (8701) choose the ports
"""

from __future__ import annotations

import argparse
import logging
import sys

from local.stack import DEFAULT_HOST, LocalSettings, LocalStack, LocalStackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="interface to bind (default loopback; 0.0.0.0 serves a device on the LAN)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines

    try:
        settings = LocalSettings.from_env(host=args.host)
        if settings.serves_all_interfaces:
            print(
                "WARNING: --host 0.0.0.0 serves the signer, the CDN, the processor and the S3 endpoint to "
                "every machine on this network. The signer signs for anyone (no JWT locally) and the "
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


if __name__ == "__main__":
    sys.exit(main())
