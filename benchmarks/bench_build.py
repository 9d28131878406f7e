"""Benchmark: faxbatch build against the ways letters get made without it, on one campaign.

Run by hand (not part of the tests):

    python benchmarks/bench_build.py --recipients 2000 [--naive-sample 300] [--typst-sample 100]
                                     [--jobs N] [--memory-check 50000] [--signers 1000]

The baselines (benchmarks/baselines.py) make the same letters (a cover sheet, the letter, "Page N
of M"): the way a Python user would write it (platypus paragraphs in one reportlab
``SimpleDocTemplate`` per letter, merged with pypdf), and a Typst mail merge compiled once per
letter (skipped when the ``typst`` package is not installed). They run on a sample of the letters,
in this process, and are reported per letter; faxbatch builds them all, as its command line does.

Prints one table: letters/s each way and faxbatch's ratio to each, pages and bytes per letter, peak
RSS of the build, the time of a re-run into the same folder, and of ``faxbatch preflight``.
``--signers N`` also builds signatories ``per_signer``: N signers to 6 offices (6N letters),
beside a campaign of 6N recipients, in the same run, each with its letters/s.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pypdf
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

sys.path.insert(0, str(ROOT / "benchmarks"))

from baselines import platypus_letters, typst_letters  # noqa: E402

PARAGRAPH = (
    "We write to protest against the treatment of the activists who took part in the May Day "
    "march in Almaty, and to ask that the charges against them be dropped without delay. "
)


def make_campaign(folder: Path, recipients: int, signers: int = 0) -> Path:
    """A campaign of ``recipients`` offices (in a CSV file) with a letter of two to three pages.

    ``signers``: a signers file of that many supporters, signatories mode ``per_signer`` (each
    writes to every office).
    """
    body = "\n\n".join(PARAGRAPH * (2 + n % 3) for n in range(9))
    campaign = {
        "campaign": {"title": "Benchmark campaign", "reference": "BENCH-1", "date": "2012-05-10"},
        "sender": {
            "name": "Campaign Secretary",
            "organization": "Solidarity Group",
            "address": ["1 Main Street", "Springfield"],
            "email": "s@example.org",
            "country": "US",
        },
        "defaults": {"country": "KZ"},
        "letter": {
            "subject": "The trial of Dmitry Tikhonov",
            "body": body,
            "signature": ["Campaign Secretary"],
        },
        "cover": {"comments": "Please pass this on.", "urgent": True},
        "recipients_file": "recipients.csv",
    }
    with (folder / "recipients.csv").open("w", encoding="utf-8", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["id", "name", "organization", "address", "fax"])
        for n in range(recipients):
            rows.writerow(
                [
                    f"office-{n:06d}",
                    f"Office {n}",
                    f"Ministry {n % 97}",
                    f"Street {n % 50} | Astana",
                    f"+7 7172 {70 + n % 30} {n // 100 % 100:02d} {n % 100:02d}",
                ]
            )
    if signers:
        campaign["signatories"] = {"file": "signers.csv", "mode": "per_signer"}
        with (folder / "signers.csv").open("w", encoding="utf-8", newline="") as handle:
            rows = csv.writer(handle)
            rows.writerow(["name", "organization", "country", "role", "city"])
            for n in range(signers):
                rows.writerow(
                    [f"Supporter {n}", f"Union {n % 40}", "US", "Member", f"City {n % 30}"]
                )
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(campaign, allow_unicode=True, sort_keys=False), "utf-8")
    return path


# The build's own peak is read from /proc (VmHWM): ru_maxrss would also count the moment between
# fork and exec, when the child still shares this benchmark's (large) memory. Its workers are
# forked from the build itself, so their ru_maxrss is their own.
_MEASURED = """
import re, resource, sys
from faxbatch.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    own = int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"RSS {own} {workers}", file=sys.stderr)
sys.exit(code)
"""


def child_environment(pycache: Path) -> dict[str, str]:
    """The environment of a measured child: this source tree, run from compiled bytecode.

    An installed faxbatch runs from the bytecode pip compiled at install. The source tree has
    none, and with PYTHONDONTWRITEBYTECODE set (as on some machines) every start would compile
    each module again, 0.1-0.2 s that no user pays. The bytecode goes to a folder of the
    benchmark's own (PYTHONPYCACHEPREFIX), filled by a warm-up build before anything is timed.
    """
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["PYTHONPYCACHEPREFIX"] = str(pycache)
    return environment


def warm_up(folder: Path, jobs: int, environment: dict[str, str]) -> None:
    """Untimed small builds and a preflight, so that every module they import is compiled."""
    for name, signers in (("plain", 0), ("signed", 3)):
        (folder / name).mkdir(parents=True)
        campaign = make_campaign(folder / name, 20 if not signers else 6, signers=signers)
        run_build(campaign, folder / name / "out", jobs, environment)
    run_preflight(folder / "plain" / "out", environment)


def run_build(
    campaign: Path, out: Path, jobs: int, environment: dict[str, str]
) -> tuple[float, int]:
    """Run ``faxbatch build`` in a child process; returns (seconds, peak RSS in bytes).

    The peak is the largest of the build process and each of its workers (each one's own peak).
    """
    command = [
        sys.executable,
        "-c",
        _MEASURED,
        "build",
        str(campaign),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
    ]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 6):
        raise SystemExit(f"build failed ({result.returncode}):\n{result.stderr}")
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("RSS ")][-1]
    own, workers = (int(v) for v in line.split()[1:])
    return seconds, max(own, workers) * 1024


def run_preflight(out: Path, environment: dict[str, str]) -> float:
    """Seconds of ``faxbatch preflight`` on the built batch (every page checked)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "faxbatch", "preflight", str(out)],
        capture_output=True,
        text=True,
        env=environment,
    )
    if result.returncode != 0:
        raise SystemExit(f"preflight failed ({result.returncode}):\n{result.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=2_000)
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument("--typst-sample", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--memory-check",
        type=int,
        default=0,
        metavar="N",
        help="also build N recipients (e.g. 50000) and report its peak RSS and letters/s",
    )
    parser.add_argument(
        "--signers",
        type=int,
        default=0,
        metavar="N",
        help="also build N signers per_signer to 6 offices, and 6N recipients, and compare",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="faxbatch-bench-") as tmp:
        folder = Path(tmp)
        campaign = make_campaign(folder, args.recipients)
        naive = platypus_letters(campaign, args.naive_sample)
        merge = typst_letters(campaign, args.typst_sample) if args.typst_sample else None
        environment = child_environment(folder / "pycache")
        warm_up(folder / "warm-up", args.jobs, environment)
        out = folder / "out"
        seconds, rss = run_build(campaign, out, args.jobs, environment)
        rerun, _ = run_build(campaign, out, args.jobs, environment)
        preflight = run_preflight(out, environment)
        volume = sum(p.stat().st_size for p in (out / "print").glob("*.pdf"))
        pages = sum(len(pypdf.PdfReader(p).pages) for p in (out / "print").glob("fax-*.pdf"))
        rate = args.recipients / seconds
        columns = ["naive (platypus)", "typst per letter", "faxbatch"]
        none = "-"

        def row(name: str, naive_cell: str, typst_cell: str, ours: str) -> tuple[str, ...]:
            return (name, naive_cell, typst_cell if merge else "not installed", ours)

        typst_rate = merge.rate if merge else 0.0
        rows = [
            row(
                "letters",
                f"{naive.letters} (sample)",
                f"{merge.letters if merge else 0} (sample)",
                f"{args.recipients}",
            ),
            row(
                "pages/letter",
                f"{naive.pages / naive.letters:.1f}",
                f"{merge.pages / merge.letters:.1f}" if merge else none,
                f"{pages / args.recipients:.1f}",
            ),
            row("letters/s", f"{naive.rate:.0f}", f"{typst_rate:.0f}", f"{rate:.0f}"),
            row(
                "faxbatch's speed / this way's",
                f"{rate / naive.rate:.1f}x",
                f"{rate / typst_rate:.1f}x" if merge else none,
                "1.0x",
            ),
            row(
                "volume bytes/letter",
                f"{naive.volume_bytes / naive.letters:.0f}",
                f"{merge.volume_bytes / merge.letters:.0f}" if merge else none,
                f"{volume / args.recipients:.0f}",
            ),
            row("peak RSS (MB)", none, none, f"{rss / 2**20:.0f}"),
            row("re-run into same folder (s)", none, none, f"{rerun:.2f}"),
            row("preflight of the batch (s)", none, none, f"{preflight:.1f}"),
        ]
        if args.memory_check:
            big_folder = folder / "big"
            big_folder.mkdir()
            big = make_campaign(big_folder, args.memory_check)
            big_seconds, big_rss = run_build(big, big_folder / "out", args.jobs, environment)
            rows.append(row(f"peak RSS, {args.memory_check} (MB)", none, none,
                            f"{big_rss / 2**20:.0f}"))  # fmt: skip
            rows.append(row(f"letters/s, {args.memory_check}", none, none,
                            f"{args.memory_check / big_seconds:.0f}"))  # fmt: skip
        if args.signers:
            letters = 6 * args.signers
            plain_folder, signed_folder = folder / "plain", folder / "signed"
            plain_folder.mkdir()
            signed_folder.mkdir()
            plain = make_campaign(plain_folder, letters)
            signed = make_campaign(signed_folder, 6, signers=args.signers)
            plain_seconds, _ = run_build(plain, plain_folder / "out", args.jobs, environment)
            signed_seconds, signed_rss = run_build(
                signed, signed_folder / "out", args.jobs, environment
            )
            rows.append(row(f"letters/s, {letters} recipients", none, none,
                            f"{letters / plain_seconds:.0f}"))  # fmt: skip
            rows.append(row(f"letters/s, {args.signers} signers x 6", none, none,
                            f"{letters / signed_seconds:.0f}"))  # fmt: skip
            rows.append(row("peak RSS, per_signer (MB)", none, none,
                            f"{signed_rss / 2**20:.0f}"))  # fmt: skip
        print(f"{args.recipients} recipients, jobs={args.jobs}, {os.cpu_count()} cores")
        print(f"{'':30}" + "".join(f"{c:>20}" for c in columns))
        for name, *cells in rows:
            print(f"{name:30}" + "".join(f"{c:>20}" for c in cells))
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
