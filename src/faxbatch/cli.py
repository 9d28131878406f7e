"""The ``faxbatch`` command: parse arguments, call the library, map errors to exit codes.

This is the only module that prints. Every error the library raises carries its exit code
(:mod:`faxbatch.errors`); :func:`main` turns it into one message on standard error, never a
traceback (set ``FAXBATCH_DEBUG=1`` to see one for an internal error).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from faxbatch import __version__
from faxbatch.campaign import load_campaign
from faxbatch.errors import ExitCode, FaxbatchError, UsageError
from faxbatch.pipeline import BuildOptions, BuildResult, build_batch
from faxbatch.progress import for_stream


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors go through our one error path."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", hint=f"see '{self.prog} --help'")


def make_parser() -> argparse.ArgumentParser:
    """The command line, with its subcommands."""
    parser = _Parser(
        prog="faxbatch",
        description="Turn a campaign file into checked fax numbers, fax-ready PDFs, "
        "print volumes and manifests.",
        epilog="Exit codes: 0 all ready, 1 internal error, 2 usage, 3 invalid campaign, "
        "4 input unreadable, 5 output not writable, 6 built with rejected recipients.",
    )
    parser.add_argument("--version", action="version", version=f"faxbatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    build = commands.add_parser(
        "build",
        help="build faxes, the print volume and the manifests",
        description="Build a fax (cover sheet + letter) per recipient, a print volume and "
        "manifests. The output folder is replaced only when the new batch is complete.",
    )
    build.add_argument("campaign", type=Path, help="the campaign file (YAML)")
    build.add_argument(
        "--out", type=Path, default=Path("out"), help="output folder (default: ./out)"
    )
    return parser


def _report_build(result: BuildResult) -> None:
    pages = sum(doc["pages"] or 0 for doc in result.documents)
    print(f"Built {result.ready} fax(es), {pages} page(s), into {result.out}/")
    if result.ready:
        print(f"  faxes:     {result.out}/faxes/")
        print(f"  print:     {result.out}/print/volume-001.pdf")
    print(f"  manifests: {result.out}/manifest.json, {result.out}/manifest.csv")
    rejected = [doc for doc in result.documents if doc["status"] != "ready"]
    if rejected:
        print(f"{len(rejected)} recipient(s) rejected (listed in the manifests):", file=sys.stderr)
        for doc in rejected:
            print(f"  - {doc['recipient_id']}: {' '.join(doc['problems'])}", file=sys.stderr)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (raises nothing it knows)."""
    args = make_parser().parse_args(argv)
    if args.command is None:
        make_parser().print_help()
        return ExitCode.USAGE
    if args.command == "build":
        campaign = load_campaign(args.campaign)
        result = build_batch(campaign, BuildOptions(out=args.out), for_stream(sys.stderr))
        _report_build(result)
        return result.exit_code
    raise UsageError(f"unknown command {args.command}")  # pragma: no cover - argparse stops it


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``faxbatch`` script: the one place errors become exit codes."""
    try:
        return int(run(argv))
    except FaxbatchError as exc:
        print(f"faxbatch: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except BrokenPipeError:
        # the reader of our output went away (``faxbatch ... | head``): not an error of ours
        sys.stderr.close()
        return int(ExitCode.OK)
    except KeyboardInterrupt:
        print("faxbatch: interrupted; the previous output folder is unchanged", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("FAXBATCH_DEBUG"):
            traceback.print_exc()
        print(
            f"faxbatch: internal error: {type(exc).__name__}: {exc}\n"
            "  This is a bug in faxbatch; please report it with the campaign file "
            "(FAXBATCH_DEBUG=1 shows the details).",
            file=sys.stderr,
        )
        return int(ExitCode.INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
