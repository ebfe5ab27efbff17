"""`eascmd` argument wiring: global options, one sub-command per seed command, exit statuses.

Exit status: 0 success, 1 a failed call (printed as the server's `Code: Message`), a failed
deployment or a refused prompt, 2 bad usage, 130 interrupted.
"""
import argparse
import sys
from pathlib import Path

from console.cli import config
from console.cli.client import ApiFailure
from console.cli.commands import UsageError, configure, local, pysdk, resources, services, upload
from console.cli.session import Refused, Session


def global_options(defaults: bool) -> argparse.ArgumentParser:
    """-c/-y, accepted before the command and after it (`eascmd -c f desc x`, `eascmd delete x -y`)."""
    parser = argparse.ArgumentParser(add_help=False)
    unset = {} if defaults else {"default": argparse.SUPPRESS}
    parser.add_argument("-c", "--config", dest="config", metavar="FILE",
                        help=f"configuration file (default: {config.default_path()})",
                        **({"default": None} if defaults else unset))
    parser.add_argument("-y", "--yes", dest="yes", action="store_true",
                        help="answer yes to confirmation prompts", **({"default": False} if defaults else unset))
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eascmd", parents=[global_options(defaults=True)],
        description="Manage model services and resource groups of the EAS platform from the command line.")
    common = global_options(defaults=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for module in (configure, upload, services, resources, local, pysdk):
        module.register(commands, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    session = Session(Path(args.config).expanduser() if args.config else config.default_path(), args.yes)
    try:
        return args.handler(args, session)
    except UsageError as exc:
        parser.error(str(exc))
    except (ApiFailure, config.ConfigError) as exc:
        print(f"[ERROR] {exc}", file=sys.stderr)
    except Refused as exc:
        print(f"Nothing was changed: {exc}.", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
