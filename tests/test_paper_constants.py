"""No number of the paper enters a computation of ours.

The experiments (``spikeloop/experiments/*.py``) name the paper's numbers ``PAPER_*`` and may use them only
(a) as ``Row(paper=...)``, (b) inside a function marked ``@uses_paper_numbers("why")`` (labelled sensitivity rows,
notes saying what a paper value implies), or (c) as an argument of a call to such a function. This test reads
their source with ``ast`` and names every other use, and every float literal equal to a paper number outside the
``PAPER_*`` definitions. It refuses the DT-SNN row of before (the paper's 2.14 mean timesteps as its input).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import spikeloop.experiments

EXPERIMENTS = sorted(Path(spikeloop.experiments.__file__).parent.glob("*.py"))
MARK = "uses_paper_numbers"


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def paper_constants(tree: ast.Module) -> dict[str, object]:
    """Module-level ``PAPER*`` assignments: name -> literal value (None where not a literal)."""
    out: dict[str, object] = {}
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        for t in targets:
            if isinstance(t, ast.Name) and t.id.startswith("PAPER"):
                try:
                    out[t.id] = ast.literal_eval(node.value) if node.value is not None else None
                except ValueError:
                    out[t.id] = None
    return out


def marked_functions(tree: ast.Module) -> set[str]:
    """Names of the functions decorated ``@uses_paper_numbers(...)``."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and _call_name(dec.func) == MARK:
                    out.add(node.name)
    return out


def _floats(value: object) -> set[float]:
    if isinstance(value, float):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_floats(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(_floats(v) for v in value)) if value else set()
    return set()


def violations(source: str, filename: str, *, names: set[str], values: set[float], marked: set[str]) -> list[str]:
    """Every use of a paper constant (``names``, or a non-integer float literal in ``values``) outside the allowed
    places, as ``file:line: what``."""
    tree = ast.parse(source, filename)
    parent: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parent[child] = node

    def allowed(node: ast.AST) -> bool:
        child, cur = node, parent.get(node)
        while cur is not None:
            if isinstance(cur, ast.keyword) and cur.arg == "paper":
                return True
            if isinstance(cur, ast.FunctionDef | ast.AsyncFunctionDef) and cur.name in marked:
                return True
            if isinstance(cur, ast.Call) and child is not cur.func and _call_name(cur.func) in marked:
                return True
            child, cur = cur, parent.get(cur)
        return False

    def is_definition(node: ast.AST) -> bool:
        stmt = node
        while stmt in parent and not isinstance(stmt, ast.stmt):
            stmt = parent[stmt]
        return (
            parent.get(stmt) is tree
            and isinstance(stmt, ast.Assign | ast.AnnAssign)
            and any(
                isinstance(t, ast.Name) and t.id.startswith("PAPER")
                for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
            )
        )

    out = []
    for node in ast.walk(tree):
        what = None
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id in names
            and not is_definition(node)
        ):  # a paper table may be built from paper constants
            what = node.id
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr in names:
            what = node.attr
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, float)
            and not node.value.is_integer()
            and node.value in values
            and not is_definition(node)
        ):
            what = f"literal {node.value!r} (a paper number)"
        if what is not None and not allowed(node):
            out.append(f"{filename}:{node.lineno}: {what} used outside Row(paper=...) and @{MARK} functions")
    return out


def _registry() -> tuple[set[str], set[float], set[str]]:
    names: set[str] = set()
    values: set[float] = set()
    marked: set[str] = set()
    for path in EXPERIMENTS:
        tree = ast.parse(path.read_text(), str(path))
        consts = paper_constants(tree)
        names |= set(consts)
        values |= {v for c in consts.values() for v in _floats(c)}
        marked |= marked_functions(tree)
    return names, values, marked


def test_the_experiments_use_paper_numbers_only_beside_ours() -> None:
    names, values, marked = _registry()
    assert {"PAPER_TABLE2_NJ", "PAPER_F4B_DT_REDUCTION", "PAPER_DT_MEAN_TIMESTEPS", "PAPER_F6A"} <= names
    assert 2.14 in values and 46.5 in values
    assert {"dt_sensitivity_rows", "paper_implied_unshared"} <= marked
    found = []
    for path in EXPERIMENTS:
        found += violations(path.read_text(), path.name, names=names, values=values, marked=marked)
    assert not found, "\n".join(found)


# The Fig. 4(b) DT-SNN row as it was: the paper's mean timesteps as the input of ``ours``.
OLD_F4B = """
PAPER_F4B_DT_REDUCTION = 46.5  # %
PAPER_DT_AVG_TIMESTEPS = 2.14


def f4b_rows(arch):
    engine = {t: float(t) for t in (1, 2, 3, 4)}
    return [Row(
        id="f4b-dt-energy-reduction", paper=PAPER_F4B_DT_REDUCTION,
        ours=100 * (1 - _at_average(engine, PAPER_DT_AVG_TIMESTEPS) / engine[4]), unit="%",
        note=f"engine os at the paper's DT-SNN average of {PAPER_DT_AVG_TIMESTEPS} timesteps")]
"""


def test_the_old_f4b_dt_row_is_refused() -> None:
    names, values, marked = _registry()
    tree = ast.parse(OLD_F4B)
    names |= set(paper_constants(tree))
    found = violations(OLD_F4B, "old_sata.py", names=names, values=values, marked=marked)
    assert len(found) == 2 and all("PAPER_DT_AVG_TIMESTEPS" in f for f in found), found
    assert all("Row(paper=...)" in f for f in found)
    # the same with the number written in: the literal is refused too
    inline = OLD_F4B.replace("_at_average(engine, PAPER_DT_AVG_TIMESTEPS)", "_at_average(engine, 2.14)")
    assert any(
        "literal 2.14" in f for f in violations(inline, "old_sata.py", names=names, values=values, marked=marked)
    )
    # and it passes once the computation moves into a marked function called with the constant
    marked_src = OLD_F4B.replace("def f4b_rows(arch):", f"@{MARK}('sensitivity')\ndef f4b_rows(arch):")
    assert violations(marked_src, "x.py", names=names, values=values, marked=marked | {"f4b_rows"}) == []


@pytest.mark.parametrize(
    ("snippet", "ok"),
    [
        ("Row(id='a', paper=PAPER_X[w] if t == 4 else None, ours=1.0, unit='x')", True),
        ("Row(id='a', paper=None, ours=PAPER_X * 2, unit='x')", False),
        ("f'{PAPER_X:.1f}'", False),  # a note quoting a paper number: use Row.paper (the table shows it)
        ("mod.PAPER_X + 1", False),
        ("helper(PAPER_X)", True),  # helper is marked below
        ("helper(1.0) + PAPER_X", False),
    ],
)
def test_the_rule_on_small_cases(snippet: str, ok: bool) -> None:
    found = violations(snippet, "s.py", names={"PAPER_X"}, values=set(), marked={"helper"})
    assert (found == []) is ok, found


def test_sensitivity_rows_are_labelled() -> None:
    from spikeloop.experiments import dt

    def reduction(fractions: list[float]) -> float:
        return dt.mean_timesteps(fractions)

    rows = dt.dt_sensitivity_rows(
        id_prefix="x-dt",
        reduction=reduction,
        steps=4,
        unit="timesteps",
        what="test",
        command="c",
        paper_mean=2.25,
        paper_value=9.0,
    )
    paper_rows = [r for r in rows if r.paper is not None]
    assert [r.id for r in paper_rows] == ["x-dt-mean-2.25-paper"] and paper_rows[0].paper == 9.0
    assert "the paper's input" in paper_rows[0].note and paper_rows[0].ours == pytest.approx(2.25)
    assert all(r.id.endswith("-paper") == (r.paper is not None) for r in rows)
    assert [r.ours for r in rows if r.paper is None] == pytest.approx(list(dt.SENSITIVITY_MEANS))
    assert dt.dt_sensitivity_rows.uses_paper_numbers  # the mark carries its reason
