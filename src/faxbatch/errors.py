"""Exit codes and the one exception hierarchy of faxbatch.

Every error the library raises on purpose is a :class:`FaxbatchError`; each class carries the exit
code the command line returns for it. The table is a stable interface, documented in README.md:
scripts around faxbatch may rely on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum


def sentences(parts: Sequence[str]) -> str:
    """Reasons joined as sentences: each begins with a capital and ends with a full stop.

    ``["voice line", "no fax tone"]`` reads "Voice line. No fax tone." (not "voice line no fax
    tone"); a part that ends with ``.``, ``!`` or ``?`` keeps its end. A part that begins with a
    name that is not a word (``recipients.csv:2: ...``, ``+7 ...``, ``almaty-court ...``) keeps
    its first letter as written: a file name or an id is not a word to capitalise. Every message
    that lists reasons joins them with this, so all commands read alike.
    """
    done: list[str] = []
    for part in parts:
        text = " ".join(str(part).split())
        if not text:
            continue
        first = text.split(" ", 1)[0]
        if first.isalpha():
            text = text[0].upper() + text[1:]
        done.append(text if text[-1] in ".!?" else text + ".")
    return " ".join(done)


class ExitCode(IntEnum):
    """Process exit codes of the ``faxbatch`` command."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    INVALID_CAMPAIGN = 3
    INPUT_UNREADABLE = 4
    OUTPUT_NOT_WRITABLE = 5
    REJECTED_RECIPIENTS = 6
    PREFLIGHT_FAILED = 7
    SEND_FAILED = 8


class FaxbatchError(Exception):
    """Base of every error faxbatch reports to its user (message, no traceback)."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(FaxbatchError):
    """The command line itself is wrong."""

    exit_code = ExitCode.USAGE


class CampaignError(FaxbatchError):
    """The campaign file is not valid; nothing was written.

    ``source`` is the file, ``line`` the 1-based line (when known) and ``field`` the field path such
    as ``recipients[3].fax``.
    """

    exit_code = ExitCode.INVALID_CAMPAIGN

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if source:
            where = source + (f":{line}" if line else "")
        if field:
            where = f"{where}: {field}" if where else field
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.source = source
        self.line = line
        self.field = field
        #: every problem found in one run, this one first (one, unless :meth:`several` made it)
        self.problems: tuple[CampaignError, ...] = (self,)

    #: how many problems a message lists before it gives only the count of the others
    SHOWN = 50

    @classmethod
    def several(cls, problems: Sequence[CampaignError]) -> CampaignError:
        """One error for every problem found (the first one's file, line and field).

        A single problem is returned as it is; the message of several lists the first
        :attr:`SHOWN`, each with its own place and hint, then how many more there are.
        """
        if len(problems) == 1:
            return problems[0]
        first = problems[0]
        error = cls(
            f"{len(problems)} problems in {first.source}" if first.source else "problems",
            source=first.source,
            line=first.line,
            field=first.field,
        )
        error.message = f"{first.source or 'the campaign'} has {len(problems)} problems:"
        error.problems = tuple(problems)
        return error

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return super().__str__()
        lines = [self.message]
        for problem in self.problems[: self.SHOWN]:
            lines.append("  - " + str(problem).replace("\n", "\n    "))
        if len(self.problems) > self.SHOWN:
            lines.append(f"  ... and {len(self.problems) - self.SHOWN} more problems.")
        return "\n".join(lines)


class WorkerDiedError(FaxbatchError):
    """A worker process died before it was done: killed by the system, most often for memory.

    Not a bug of faxbatch's, nor of the input's; the exit code is still 1 (nothing was done).
    """

    exit_code = ExitCode.INTERNAL


class InputUnreadableError(FaxbatchError):
    """An input file (campaign, letter body, verification sheet) cannot be read."""

    exit_code = ExitCode.INPUT_UNREADABLE


class OutputNotWritableError(FaxbatchError):
    """The output folder cannot be created, written or replaced."""

    exit_code = ExitCode.OUTPUT_NOT_WRITABLE


class PreflightError(FaxbatchError):
    """A built batch fails the print-shop checks."""

    exit_code = ExitCode.PREFLIGHT_FAILED

    def __init__(self, message: str, failures: list[str]) -> None:
        super().__init__(message)
        self.failures = failures

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  - {failure}" for failure in self.failures)])


class SendError(FaxbatchError):
    """Handing faxes to a gateway failed."""

    exit_code = ExitCode.SEND_FAILED
