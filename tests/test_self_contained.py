"""The repository is self-contained: no tracked file points at notes outside it.

A user clones this repository and nothing else, so no file may send them to the design notes or the reference
notes the project was built from (the parent folder's ``shared`` directory and its design document). Facts are
stated where they are used, with their public source (paper, public repository and file, datasheet).

The patterns are assembled from pieces so that this file does not match them itself.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: What a pointer outside the repository looks like: a path into the parent folder's shared directory (its
#: reference notes, the paper) or the design document by name.
POINTER = re.compile("|".join(re.escape(p) for p in ("shared" + "/", "DESIGN" + ".md")))

#: Files whose owners (the engine rewrite) remove their pointers themselves; everything else must be clean now.


def tracked_files(root: Path = ROOT) -> list[Path]:
    """The repository's tracked files (``git ls-files``), or every file outside ``.git`` without git."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True, timeout=60
        ).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.SubprocessError):
        names = []
    if names:
        return [root / n for n in names if (root / n).is_file()]
    return [p for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts]


def pointers(files: list[Path], root: Path = ROOT) -> list[str]:
    """``path:line: text`` of every line of a text file that points outside the repository."""
    found = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:  # binary (npz, png)
            continue
        text = data.decode("utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), start=1):
            if POINTER.search(line):
                found.append(f"{path.relative_to(root).as_posix()}:{n}: {line.strip()[:140]}")
    return found


def _report(found: list[str]) -> str:
    return f"{len(found)} line(s) point outside the repository (state the fact and its public source instead):\n" + (
        "\n".join(found)
    )


def test_no_pointers_outside_the_repository() -> None:
    files = tracked_files()
    assert len(files) > 50, f"only {len(files)} files found: the scan is not looking at the repository"
    found = pointers(files)
    assert not found, _report(found)


def test_the_scan_finds_a_pointer(tmp_path: Path) -> None:
    """The scan can fail: planted pointers are reported with file and line, binaries and clean text are not."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("fine\nsee ../" + "shared" + "/reference/x.md section 2\n")
    (tmp_path / "b.py").write_text('"""Values (' + "DESIGN" + '.md section 3)."""\n')
    (tmp_path / "c.txt").write_text("nothing to see\n")
    (tmp_path / "d.npz").write_bytes(b"PK\0\0 shared" + b"/ DESIGN" + b".md")
    found = pointers(tracked_files(tmp_path), tmp_path)
    assert sorted(f.split(": ", 1)[0] for f in found) == ["b.py:1", "docs/a.md:2"]
