"""The ``faxbatch`` command: parse arguments, call the library, map errors to exit codes.

This is the only module that prints. Every error the library raises carries its exit code
(:mod:`faxbatch.errors`); :func:`main` turns it into one message on standard error, never a
traceback (set ``FAXBATCH_DEBUG=1`` to see one for an internal error).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from faxbatch import __version__
from faxbatch.clock import source_date_epoch
from faxbatch.errors import (
    ExitCode,
    FaxbatchError,
    InputUnreadableError,
    PreflightError,
    UsageError,
    sentences,
)
from faxbatch.progress import for_stream

if TYPE_CHECKING:  # the stages are imported by the command that needs them: --help stays fast
    import datetime as dt

    from faxbatch.build.check import CheckResult
    from faxbatch.build.pipeline import BuildResult
    from faxbatch.sending.send import Progress, SendRequest, WatchEvent


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors go through our one error path."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", hint=f"see '{self.prog} --help'")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not '{text}'")
    return value


def _folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"'{text}' is not a folder")
    return path


def _add_allow_path(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--allow-path",
        type=_folder,
        action="append",
        default=[],
        metavar="DIR",
        help="let the campaign read files (body_file, recipients_file, verification.csv) from "
        "DIR too; by default only from the campaign file's own folder (repeatable)",
    )


def make_parser() -> argparse.ArgumentParser:
    """The command line, with its subcommands."""
    parser = _Parser(
        prog="faxbatch",
        description="Turn a campaign file into checked fax numbers, fax-ready PDFs, "
        "print volumes and manifests.",
        epilog="Exit codes: 0 all ready, 1 internal error, 2 usage, 3 invalid campaign, "
        "4 input unreadable, 5 output not writable, 6 built with rejected recipients "
        "(check: some number not usable), 7 print-shop checks failed, 8 sending failed.",
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
    build.add_argument(
        "--jobs",
        type=_positive,
        default=os.cpu_count() or 1,
        help="processes to render with (default: the number of cores)",
    )
    _add_allow_path(build)
    _add_init_command(commands)
    _add_check_command(commands)
    _add_preflight_command(commands)
    _add_gateway_commands(commands)
    return parser


def _add_init_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    init = commands.add_parser(
        "init",
        help="write a small, commented starter campaign",
        description="Write campaign.yaml (every section, the optional ones commented out), "
        "letter.md, recipients.csv (its header and two example rows) and verification.csv "
        "(its header) into DIR. It builds as it is; change it from there.",
        epilog="Exit codes: 0 written, 5 a file is there already (nothing is replaced) or DIR "
        "is not writable.",
    )
    init.add_argument(
        "dir", type=Path, nargs="?", default=Path(), help="the folder (default: here)"
    )


def _run_init(folder: Path) -> int:
    from faxbatch.campaign.starter import write_starter

    written = write_starter(folder)
    print(f"Wrote a starter campaign into {folder}/: {', '.join(p.name for p in written)}")
    print(f"Next: edit {written[0]}, then: faxbatch build {written[0]} --out {folder / 'out'}")
    return ExitCode.OK


def _add_check_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    check = commands.add_parser(
        "check",
        help="judge every number and write the volunteers' sheet",
        description="Judge every fax and phone number of the campaign (with verification.csv "
        "beside it) without building, print a table and write DIR/numbers.csv, numbers.xlsx "
        "and numbers.html. A built batch in DIR stays as it is.",
        epilog="Exit codes: 0 every number usable, 3 invalid campaign, 4 campaign or "
        "verification.csv unreadable, 5 DIR not writable, 6 some number not usable.",
    )
    check.add_argument("campaign", type=Path, help="the campaign file (YAML)")
    check.add_argument(
        "--out", type=Path, default=Path("out"), help="folder for the sheet (default: ./out)"
    )
    check.add_argument(
        "--caller-tz",
        metavar="ZONE",
        help="also give each window in this time zone on the sheet (e.g. America/New_York)",
    )
    check.add_argument(
        "--caller-country",
        metavar="CC",
        help="also give what a line in this country dials for each number (e.g. US)",
    )
    _add_allow_path(check)


def _add_preflight_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    preflight = commands.add_parser(
        "preflight",
        help="check a built batch (or its print folder alone) as a print shop would",
        description="Read a built batch's PDFs and job ticket: page sizes, embedded fonts, "
        "nothing in the fax header zone or outside the printable margins, postal addresses "
        "inside their windows, the ticket against the files. Reads only.",
        epilog="Exit codes: 0 ready for the print shop, 4 DIR is not a built batch, "
        "7 checks failed (listed).",
    )
    preflight.add_argument("dir", type=Path, help="the batch folder, or its print/ folder alone")


def _run_preflight(folder: Path) -> int:
    from faxbatch.printshop.preflight import is_print_folder, run_preflight

    if not (folder / "manifest.json").is_file() and not is_print_folder(folder):
        raise InputUnreadableError(
            f"{folder} holds no built batch (no manifest.json) and is no print folder "
            "(no job.json)",
            hint="give a batch folder (faxbatch build CAMPAIGN.yaml --out DIR) or its print/",
        )

    failures = run_preflight(folder)
    if failures:
        raise PreflightError(f"{folder} fails the print-shop checks:", failures)
    print(f"{folder} passes the print-shop checks.")
    return ExitCode.OK


def _warn(warnings: Sequence[str]) -> None:
    for warning in warnings:
        print(f"faxbatch: warning: {warning}", file=sys.stderr)


def _report_check(result: CheckResult) -> None:
    from faxbatch.build.check import table_lines

    print("\n".join(table_lines(result.rows)))
    if not result.complete:
        print(f"... the first {len(result.rows):,} of {result.numbers:,} numbers (the sheet: all)")
    print("(* the number the fax goes to)")
    unusable = result.unusable
    print(f"{result.numbers - result.unusable_count} of {result.numbers} number(s) usable.")
    if result.files:
        print(f"Volunteer sheet: {', '.join(str(path) for path in result.files)}")
    if unusable:
        names = sorted({row.recipient_id for row in unusable})
        more = " ..." if len(unusable) < result.unusable_count else ""
        print(
            f"{result.unusable_count} number(s) not usable, for: {', '.join(names)}{more}",
            file=sys.stderr,
        )


def _add_gateway_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    send = commands.add_parser(
        "send",
        help="hand a built batch to a fax gateway (HylaFAX or email-to-fax)",
        description="Show what would be sent (and which queued jobs became wrong); with --yes, "
        "cancel those and hand each ready fax to the gateway. The campaign's journal (beside the "
        "campaign file) keeps any fax from being sent twice, from any batch folder, by any "
        "gateway, also after a crash; an interrupted send continues where it stopped. Failures "
        "that can pass are tried again on the next send; --watch keeps sending as windows open.",
        epilog="Exit codes: 0 done, 2 usage, 3 invalid gateway settings, 4 batch unreadable, "
        "8 a fax was not (or may not have been) handed over, or a copy to copies_to was not "
        "emailed. The SMTP password is read only "
        "from the environment variable FAXBATCH_SMTP_PASSWORD.",
    )
    send.add_argument("dir", type=Path, help="the batch folder ('faxbatch build --out DIR')")
    send.add_argument(
        "--gateway",
        required=True,
        choices=("hylafax", "email"),
        help="HylaFAX (its sendfax client) or an email-to-fax gateway (SMTP)",
    )
    send.add_argument("--yes", action="store_true", help="send (without it: show the plan only)")
    send.add_argument(
        "--resend",
        metavar="ID",
        action="append",
        default=[],
        help="send this recipient's fax again, on purpose (repeatable; 'all-failed': every "
        "fax whose last attempt failed)",
    )
    send.add_argument(
        "--watch",
        action="store_true",
        help="with --yes: keep running, hand each fax over as its window opens, follow and retry "
        "until everything is done, failed for good or past the deadline (Ctrl-C stops)",
    )
    send.add_argument(
        "--no-copies",
        action="store_true",
        help="do not email the campaign's copies_to a copy of each fax (a later send emails "
        "the copies still due)",
    )
    send.add_argument("--host", help="the HylaFAX or SMTP server (default: localhost)")
    send.add_argument("--port", type=int, help="its port (HylaFAX 4559, SMTP 587 or 25)")
    send.add_argument(
        "--campaign",
        type=Path,
        metavar="FILE",
        help="read the 'gateway:' settings from this YAML file (the campaign or one of its own)",
    )
    send.add_argument("--email-domain", dest="domain", help="email gateway: <digits>@DOMAIN")
    send.add_argument("--smtp-user", dest="user", help="SMTP login (password from the environment)")
    send.add_argument("--from", dest="sender", help="email gateway: the sender address")
    send.add_argument(
        "--starttls",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="email: STARTTLS before login (default: on)",
    )
    send.add_argument("--tries", type=int, help="HylaFAX: most tries per fax (default 3)")
    send.add_argument("--dials", type=int, help="HylaFAX: most dials per fax (default 12)")
    status = commands.add_parser(
        "status",
        help="ask the gateway what became of each fax; write DIR/report.csv",
        description="Refresh each sent fax's state (HylaFAX: from faxstat) and write the "
        "transmission report DIR/report.csv (one row per fax document; postal letters counted "
        "apart).",
        epilog="Exit codes: 0 done, 4 batch unreadable, 8 a fax failed for good.",
    )
    status.add_argument("dir", type=Path, help="the batch folder")


def _run_gateway_command(args: argparse.Namespace) -> int:
    from faxbatch.sending.send import (
        SendRequest,
        outcome_line,
        plan_lines,
        send_batch,
        summary_lines,
    )
    from faxbatch.sending.status import refresh_status, status_lines

    if args.command == "status":
        found = refresh_status(args.dir)
        for warning in found.warnings:
            print(f"faxbatch: warning: {warning}", file=sys.stderr)
        print("\n".join(status_lines(found)))
        return found.exit_code
    names = ("host", "port", "domain", "user", "sender", "starttls", "tries", "dials")
    request = SendRequest(
        gateway=args.gateway,
        confirm=args.yes,
        resend=tuple(args.resend),
        settings_file=args.campaign,
        overrides={name: getattr(args, name) for name in names},
        copies=not args.no_copies,
    )
    if args.watch:
        if not args.yes:
            raise UsageError("--watch sends: give --yes with it (without both, see the plan)")
        return _watch(args.dir, request)
    result = send_batch(
        args.dir,
        request,
        on_plan=lambda plan: print("\n".join(plan_lines(plan)), flush=True),
        on_outcome=lambda outcome: print(outcome_line(outcome), flush=True),
    )
    for warning in result.warnings:
        print(f"faxbatch: warning: {warning}", file=sys.stderr)
    if not result.confirmed:
        print("\n".join(plan_lines(result)))
        print("Nothing sent. Run again with --yes to send." if result.to_send else "Nothing sent.")
        return ExitCode.OK
    print("\n".join(summary_lines(result)))
    return result.exit_code


def _watch(folder: Path, request: SendRequest) -> int:
    """``send --watch``: a progress line on a terminal, else a log line per event."""
    from faxbatch.sending.send import watch_batch

    terminal = sys.stderr.isatty()

    def log(event: WatchEvent) -> None:
        stamp = event.moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if terminal:
            print("\r\033[K", end="", file=sys.stderr)
        print(f"{stamp} {event.text}", flush=True)

    def progress(state: Progress, now: dt.datetime) -> None:
        if terminal:
            print("\r\033[K" + state.line(now), end="", file=sys.stderr, flush=True)
        else:
            print(state.line(now), flush=True)

    result = watch_batch(folder, request, on_event=log, on_progress=progress)
    if terminal:
        print(file=sys.stderr)
    state = result.progress
    print(
        f"Watch ended after {result.rounds} round(s): {state.done} done, {state.given_up} not "
        "going (failed for good, past the deadline or refused)."
    )
    print(f"Journal: {result.last.journal}")
    return int(result.exit_code)


def _report_build(result: BuildResult) -> None:
    out = result.out
    reused = f" ({result.reused} unchanged, kept from the last build)" if result.reused else ""
    made = ", ".join(
        f"{count} {'fax(es)' if channel == 'fax' else 'postal letter(s)'}"
        for channel, count in sorted(result.channels.items())
    )
    print(f"Built {made or 'nothing'}, {result.pages} page(s), into {out}/{reused}")
    if result.channels.get("fax"):
        print(f"  faxes:     {out}/faxes/")
    if result.channels.get("post"):
        print(f"  post:      {out}/post/")
    if result.ready:
        shown = ", ".join(result.volumes[:3]) + (" ..." if len(result.volumes) > 3 else "")
        print(f"  print:     {len(result.volumes)} volume(s): {shown}")
    print(f"  manifests: {out}/manifest.json, {out}/manifest.csv")
    for note in result.notes:
        print(f"  note:      {note}")
    if (out / "numbers.html").exists():
        print(f"  numbers:   {out}/numbers.html, numbers.csv, numbers.xlsx")
    if result.rejected:
        print(
            f"{result.rejected} recipient(s) rejected (listed in the manifests):", file=sys.stderr
        )
        for recipient_id, problems in result.rejected_examples:
            print(f"  - {recipient_id}: {sentences(problems)}", file=sys.stderr)
        if result.rejected > len(result.rejected_examples):
            more = result.rejected - len(result.rejected_examples)
            print(f"  ... and {more} more (see manifest.csv)", file=sys.stderr)


def _run_build(args: argparse.Namespace) -> int:
    from faxbatch.build.pipeline import BuildOptions, build_batch
    from faxbatch.campaign.loader import load_campaign
    from faxbatch.numbers.verification import load_verification

    campaign = load_campaign(args.campaign, allow=args.allow_path)
    verification = load_verification(campaign)
    options = BuildOptions(out=args.out, jobs=args.jobs, verification=verification)
    try:
        result = build_batch(campaign, options, for_stream(sys.stderr))
    except FaxbatchError:
        _warn(verification.warnings)  # what the sheet said still helps with the error
        raise
    _report_build(result)
    _warning_list(result.warnings)  # the sheet's, the fonts', the volumes': after the summary
    return result.exit_code


#: a build's warnings listed on the command line before "... and N more (see print/job.txt)"
_SHOWN_WARNINGS = 10


def _warning_list(warnings: Sequence[str]) -> None:
    if not warnings:
        return
    print(f"{len(warnings)} warning(s):", file=sys.stderr)
    for warning in warnings[:_SHOWN_WARNINGS]:
        print(f"  - {warning}", file=sys.stderr)
    if len(warnings) > _SHOWN_WARNINGS:
        print(f"  ... and {len(warnings) - _SHOWN_WARNINGS} more", file=sys.stderr)


def _run_check(args: argparse.Namespace) -> int:
    from faxbatch.build.check import check_campaign
    from faxbatch.campaign.loader import load_campaign
    from faxbatch.numbers.caller import Caller
    from faxbatch.numbers.verification import load_verification

    caller = Caller.of(args.caller_tz, args.caller_country)
    campaign = load_campaign(args.campaign, allow=args.allow_path)
    verification = load_verification(campaign)
    try:
        checked = check_campaign(campaign, out=args.out, sheet=verification, caller=caller)
    except FaxbatchError:
        _warn(verification.warnings)  # what the sheet said still helps with the error
        raise
    _report_check(checked)
    # the campaign's (unused columns, translations), the sheet's, rows matching no number
    _warn(checked.warnings)
    return checked.exit_code


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (raises nothing it knows)."""
    args = make_parser().parse_args(argv)
    if args.command is None:
        make_parser().print_help()
        return ExitCode.USAGE
    if args.command in ("build", "check"):
        _warn([w for w in [source_date_epoch().warning] if w])
    if args.command == "build":
        return _run_build(args)
    if args.command == "check":
        return _run_check(args)
    if args.command == "init":
        return _run_init(args.dir)
    if args.command == "preflight":
        return _run_preflight(args.dir)
    if args.command in ("send", "status"):
        return _run_gateway_command(args)
    raise UsageError(f"unknown command {args.command}")  # pragma: no cover - argparse stops it


def _tune_garbage_collector() -> None:
    """Collect reference cycles less often.

    A build makes millions of short-lived objects (laid-out text runs) and keeps large tables
    (fonts, number metadata) that hold no garbage. Measured on a 10,000-letter build: a quarter
    less time. The command sets this; the library leaves the interpreter as it finds it.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``faxbatch`` script: the one place errors become exit codes."""
    _tune_garbage_collector()
    try:
        return _exit_code(argv)
    finally:
        # what is left goes with the process: frozen, it is not traversed again by the
        # collections of the interpreter's exit (50 ms after a build of 2,000 letters)
        gc.freeze()


def _exit_code(argv: Sequence[str] | None) -> int:
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
        print(
            "faxbatch: interrupted; nothing half-done was put in place (a build leaves the "
            "previous batch, a send its journal)",
            file=sys.stderr,
        )
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
