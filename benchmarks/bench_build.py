"""Benchmark: faxbatch build against the naive way, on the same generated campaign.

Run by hand (not part of the tests):

    python benchmarks/bench_build.py --recipients 10000 [--naive-sample 300] [--jobs N]

The naive way is one process, one reportlab ``SimpleDocTemplate`` per recipient, then pypdf
``PdfWriter.append`` to merge. To compare like with like (same page counts, same text on every
page) the naive documents draw faxbatch's own page layout through reportlab flowables, so the
baseline does not pay for platypus paragraph layout: the ratio printed is, if anything, in the naive
way's favour. It is measured on ``--naive-sample`` letters and reported per letter.

Prints one table: letters/s both ways and their ratio, bytes per letter of the print volume, peak
RSS of the build process, and the time of a re-run into the same folder.
"""

from __future__ import annotations

import argparse
import csv
import io
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

from faxbatch.build.plan import plan_recipients  # noqa: E402
from faxbatch.build.render import fax_target  # noqa: E402
from faxbatch.campaign.loader import load_campaign  # noqa: E402
from faxbatch.letters.document import fax_document  # noqa: E402
from faxbatch.letters.fonts import Style  # noqa: E402
from faxbatch.letters.layout import Page, Rule, TextRun  # noqa: E402
from faxbatch.letters.markdown import parse_body  # noqa: E402

PARAGRAPH = (
    "We write to protest against the treatment of the activists who took part in the May Day "
    "march in Almaty, and to ask that the charges against them be dropped without delay. "
)


def make_campaign(folder: Path, recipients: int) -> Path:
    """A campaign of ``recipients`` offices (in a CSV file) with a letter of two to three pages."""
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
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(campaign, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def naive_volume(campaign_path: Path, sample: int) -> tuple[float, int, list[list[str]]]:
    """Build ``sample`` letters the naive way; returns (seconds, volume bytes, texts per page)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Flowable, PageBreak, SimpleDocTemplate

    fonts_dir = ROOT / "src/faxbatch/letters/fonts"
    names = {
        Style.REGULAR: "DejaVuSans",
        Style.BOLD: "DejaVuSans-Bold",
        Style.ITALIC: "DejaVuSans-Oblique",
        Style.BOLD_ITALIC: "DejaVuSans-BoldOblique",
    }
    for name in names.values():
        pdfmetrics.registerFont(TTFont(name, str(fonts_dir / f"{name}.ttf")))

    class DrawnPage(Flowable):  # type: ignore[misc]
        def __init__(self, page: Page) -> None:
            super().__init__()
            self.page = page

        def wrap(self, *_: float) -> tuple[float, float]:
            return (0, 0)

        def draw(self) -> None:
            canvas = self.canv
            canvas.saveState()
            canvas.translate(-self._frame_x, -self._frame_y)
            for item in self.page.items:
                if isinstance(item, TextRun):
                    canvas.setFont(names[item.style], item.size)
                    canvas.drawString(item.x, item.y, item.text)
                elif isinstance(item, Rule):
                    canvas.setLineWidth(item.width)
                    canvas.line(item.x1, item.y1, item.x2, item.y2)
            canvas.restoreState()

        def drawOn(self, canvas, x, y, _sW=0):  # type: ignore[no-untyped-def]
            self._frame_x, self._frame_y = x, y
            super().drawOn(canvas, x, y, _sW)

    campaign = load_campaign(campaign_path)
    plans = [p for p in plan_recipients(campaign) if p.ready][:sample]
    body = parse_body(campaign.letter.body)
    day = campaign.date
    assert day is not None
    started = time.perf_counter()
    merged = pypdf.PdfWriter()
    texts: list[list[str]] = []
    for plan in plans:
        assert plan.fax is not None
        pages = fax_document(campaign, plan.recipient, body, day, fax_target(plan))
        texts.append([page.text() for page in pages])
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(buffer, pagesize=A4, invariant=1, initialFontName="DejaVuSans")
        story: list[Flowable] = []
        for n, page in enumerate(pages):
            if n:
                story.append(PageBreak())
            story.append(DrawnPage(page))
        doc.build(story)
        buffer.seek(0)
        merged.append(pypdf.PdfReader(buffer))
    out = io.BytesIO()
    merged.write(out)
    return time.perf_counter() - started, len(out.getvalue()), texts


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


def run_build(campaign: Path, out: Path, jobs: int) -> tuple[float, int]:
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
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}
    )
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 6):
        raise SystemExit(f"build failed ({result.returncode}):\n{result.stderr}")
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("RSS ")][-1]
    own, workers = (int(v) for v in line.split()[1:])
    return seconds, max(own, workers) * 1024


def check_equivalence(out: Path, naive_texts: list[list[str]]) -> None:
    """Same page counts and the same text on every page, for the naive sample."""
    import json

    docs = [d for d in json.loads((out / "manifest.json").read_text())["documents"] if d["file"]]
    for doc, expected in zip(docs, naive_texts, strict=False):
        reader = pypdf.PdfReader(out / doc["file"])
        assert len(reader.pages) == len(expected), doc["recipient_id"]
        for page, text in zip(reader.pages, expected, strict=True):
            # the same characters in the same order (readers differ only in the spaces they
            # infer between runs on one baseline)
            got = "".join(page.extract_text().split())
            want = "".join(text.split())
            assert got == want, (doc["recipient_id"], got, want)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--memory-check",
        type=int,
        default=0,
        metavar="N",
        help="also build N recipients (e.g. 50000) and compare peak RSS with the main run",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="faxbatch-bench-") as tmp:
        folder = Path(tmp)
        campaign = make_campaign(folder, args.recipients)
        naive_seconds, naive_bytes, naive_texts = naive_volume(campaign, args.naive_sample)
        sample = len(naive_texts)
        out = folder / "out"
        seconds, rss = run_build(campaign, out, args.jobs)
        rerun, _ = run_build(campaign, out, args.jobs)
        check_equivalence(out, naive_texts[:50])
        volume = sum(p.stat().st_size for p in (out / "print").glob("*.pdf"))
        naive_rate = sample / naive_seconds
        rate = args.recipients / seconds
        rows = [
            ("letters", f"{sample} (sample)", f"{args.recipients}"),
            ("letters/s", f"{naive_rate:.0f}", f"{rate:.0f}"),
            ("ratio", "1.0", f"{rate / naive_rate:.1f}x"),
            (
                "volume bytes/letter",
                f"{naive_bytes / sample:.0f}",
                f"{volume / args.recipients:.0f}",
            ),
            ("peak RSS (MB)", "-", f"{rss / 2**20:.0f}"),
            ("re-run into same folder (s)", "-", f"{rerun:.2f}"),
        ]
        if args.memory_check:
            big_folder = folder / "big"
            big_folder.mkdir()
            big = make_campaign(big_folder, args.memory_check)
            big_seconds, big_rss = run_build(big, big_folder / "out", args.jobs)
            rows.append((f"peak RSS, {args.memory_check} (MB)", "-", f"{big_rss / 2**20:.0f}"))
            rows.append(
                (f"letters/s, {args.memory_check}", "-", f"{args.memory_check / big_seconds:.0f}")
            )
        print(f"{'':30}{'naive':>18}{'faxbatch':>14}   (jobs={args.jobs}, {os.cpu_count()} cores)")
        for name, naive, ours in rows:
            print(f"{name:30}{naive:>18}{ours:>14}")
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
