"""The package's layout: every module in its stage, and no stage importing from one above it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src/faxbatch"
#: the stages in the order a campaign goes through them; a module may import from its own stage
#: and from those before it. ``base`` is the few modules every stage uses (errors, files, ...);
#: ``build`` runs the stages; the command line and the public face (``faxbatch/__init__.py``,
#: whose names are imported on first use) sit on top.
ORDER = ("base", "campaign", "numbers", "letters", "printshop", "sending", "build", "cli")
STAGES = frozenset(ORDER) - {"base", "cli"}
TOP = {"cli": "cli", "__main__": "cli"}


def _stage(module: str) -> str:
    """The stage of ``faxbatch.X.Y``: its subpackage, or base/cli for the top-level modules."""
    parts = module.split(".")[1:]
    if not parts:  # the package itself: its public face
        return "cli"
    if parts[0] in STAGES:
        return parts[0]
    return TOP.get(parts[0], "base")


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        found.append((".".join(relative.parts).removesuffix(".__init__"), path))
    return found


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """Every faxbatch module ``path`` imports (at any depth of the file), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, a.name) for a in node.names if a.name.startswith("faxbatch")]
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{module}: a relative import (write faxbatch.STAGE.MODULE)"
            if node.module and node.module.startswith("faxbatch"):
                names += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return names


def test_every_module_sits_in_a_stage_or_is_one_of_the_few_at_the_top() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == [
        "__init__", "__main__", "cli", "clock", "csvcells", "errors", "files", "progress",
    ]  # fmt: skip
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(STAGES)


def test_no_module_imports_from_a_stage_above_its_own() -> None:
    upward = []
    for module, path in _modules():
        own = ORDER.index(_stage(module))
        for line, name in _imports(path, module):
            if ORDER.index(_stage(name)) > own:
                upward.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("code", ["import faxbatch", "import faxbatch.cli"])
def test_the_top_imports_nothing_heavy(code: str) -> None:
    """``faxbatch --help`` stays fast: no PDF, font or phone-number library is loaded for it."""
    heavy = ("reportlab", "pypdf", "fontTools", "phonenumbers", "yaml", "sqlite3")
    probe = f"{code}; import sys; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert not [name for name in heavy if name in loaded]
    assert not [name for name in loaded if name.startswith("faxbatch.") and "." in name[9:]]


def test_the_public_face_names_the_library_entry_points() -> None:
    import faxbatch

    for name in faxbatch.__all__:
        assert getattr(faxbatch, name) is not None, name
    assert callable(faxbatch.build_batch)
    assert issubclass(faxbatch.CampaignError, faxbatch.FaxbatchError)
