"""Report files: valid, non-blank PNGs; CSV and Markdown agree with the JSON; compare outputs; figures a reviewer
accepts (integer ticks on integer axes, no offset text, labelled axes, legends, one style); report.html parsed
with html.parser; per-step timings of ``spikeloop reproduce`` (synthetic experiments, so these tests stay fast)."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import struct
import time
from contextlib import redirect_stderr, redirect_stdout
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np
import pytest

from spikeloop.figures import DPI, ENCODING_COLORS, SPECS, build_figures, draw_all, energy_unit, plot_energy_vs_t
from spikeloop.report import fmt, write_report
from spikeloop.rows import Row

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WORKS = ("SBP", "BNTT", "Direct", "TSSL", "LTH", "TDBN")


def synthetic_rows() -> list[Row]:
    rows = []
    for i, w in enumerate(WORKS):
        rows.append(Row(id=f"table2-est-{w}", paper=1e4 * (i + 1), ours=1.1e4 * (i + 1), unit="nJ", note="n"))
        rows.append(Row(id=f"table2-sata-{w}", paper=1e7 * (i + 1), ours=0.9e7 * (i + 1), unit="nJ"))
    for t in (1, 2, 3, 4):
        rows.append(
            Row(
                id=f"f4b-energy-T{t}",
                paper=None,
                ours=100.0 * t,
                unit="µJ",
                parts=(("compute", 20.0 * t), ("memory", 80.0 * t)),
            )
        )
    for t in (1, 2, 4, 8):
        rows.append(Row(id=f"f5a-memory-saving-T{t}", paper=62.5 if t == 4 else None, ours=10.0 * t, unit="%"))
    rows.append(Row(id="f5b-lif-share", paper=61.6, ours=62.9, unit="%", note="a, b"))
    rows.append(Row(id="f5b-c4-lif-saving", paper=45.0, ours=47.0, unit="%"))
    for n, (p, o) in {2: (1.38, 1.98), 4: (2.41, 3.9)}.items():
        rows.append(Row(id=f"f6a-c{n}-area", paper=p, ours=o, unit="x", note="area <b>&amp;</b>"))
    rows.append(
        Row(
            id="f6b-enc",
            paper=40.13,
            ours=78.1,
            unit="% points",
            command="spikeloop accuracy --sweep",
            parts=(("ci95_low", 77.4), ("ci95_high", 78.8)),
        )
    )
    rows.append(
        Row(id="f6b-enc-5ohm", paper=None, ours=86.9, unit="% points", parts=(("ci95_low", 85.7), ("ci95_high", 88.1)))
    )
    rows.append(
        Row(id="f6b-bn", paper=1.22, ours=13.3, unit="% points", parts=(("ci95_low", 10.3), ("ci95_high", 16.3)))
    )
    for prefix, unit, paper in (("f4a-dt-edp-reduction", "x", 2.54), ("f4b-dt-energy-reduction", "%", 46.5)):
        rows.append(Row(id=prefix, paper=paper, ours=6.0, unit=unit, parts=(("mean_timesteps", 1.3),)))
        for m in ("1", "2", "2.14-paper", "3"):
            mean = float(m.split("-")[0])
            rows.append(Row(id=f"{prefix}-mean-{m}", paper=paper if "paper" in m else None, ours=8.0 / mean, unit=unit))
    return rows


def synthetic_sweep() -> list[dict]:
    """Accuracy sweep points as ``spikeloop.experiments.accuracy.cached_sweep`` gives them (fractions 0..1)."""
    out = []
    for enc, slope in (("offset", 0.08), ("hrs", 0.01), ("differential", 0.05)):
        for bn in (False, True):
            for ohm in (0.0, 5.0, 10.0):
                acc = 0.97 - (slope / (3 if bn else 1)) * ohm
                out.append(
                    {
                        "wire_resistance_ohm": ohm,
                        "encoding": enc,
                        "bn_adapt": bn,
                        "crossbar_accuracy": acc,
                        "crossbar_accuracy_low": acc - 0.01,
                        "crossbar_accuracy_high": acc + 0.02,
                        "chips": 3,
                        "software_accuracy": 0.98,
                        "network": "test MLP 8-4-2",
                    }
                )
    return out


def png_variance(path: Path) -> float:
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    return float(np.var(img[..., :3]))


def test_report_files_agree(tmp_path: Path) -> None:
    rows = synthetic_rows()
    drawn, missing = draw_all(rows, tmp_path, sweep=None)
    assert {"table2.png", "energy_vs_T.png", "dataflow_memory.png", "lif_sharing.png"} <= set(drawn)
    assert "accuracy_ir_drop.png" in missing
    write_report(rows, tmp_path, figures=drawn, missing=missing)
    for name in drawn:
        assert png_variance(tmp_path / name) > 1e-3, f"{name} looks blank"
    js = json.loads((tmp_path / "rows.json").read_text())
    assert [r["id"] for r in js] == [r.id for r in rows]
    with (tmp_path / "rows.csv").open() as f:
        table = list(csv.DictReader(f))
    md = (tmp_path / "report.md").read_text()
    for j, c in zip(js, table, strict=True):
        assert c["id"] == j["id"]
        assert c["ours"] == fmt(j["ours"])
        assert c["paper"] == fmt(j["paper"])
        assert f"| {j['id']} " in md
        assert fmt(j["ours"]) in md
    assert "accuracy_ir_drop.png" in md and "not drawn" in md


def test_blank_png_is_detected(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.savefig(tmp_path / "blank.png")
    plt.close(fig)
    assert png_variance(tmp_path / "blank.png") < 1e-6


def test_compare_outputs(tmp_path: Path) -> None:
    from spikeloop.cli import main

    rc = main(
        [
            "compare",
            "--arch",
            "generic3",
            "--network",
            "vgg5-cifar10",
            "--dataflows",
            "os,time-batched",
            "-T",
            "1,4",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert rc == 0
    d = json.loads((tmp_path / "compare.json").read_text())
    summary = {(r["dataflow"], r["T"]): r for r in d["summary"]}
    # T=1: the two dataflows differ only in where T sits, so they cost the same
    assert summary[("os", 1)]["total_energy_pj"] == pytest.approx(summary[("time-batched", 1)]["total_energy_pj"])
    # T=4: time-batched keeps weights and membranes in the PE: less memory energy than os
    assert summary[("time-batched", 4)]["memory_energy_pj"] < summary[("os", 4)]["memory_energy_pj"]
    with (tmp_path / "compare.csv").open() as f:
        csv_rows = list(csv.DictReader(f))
    assert len(csv_rows) == 4
    assert png_variance(tmp_path / "compare.png") > 1e-3
    md = (tmp_path / "compare.md").read_text()
    assert "winner" in md and "## Per layer, T = 4" in md


def test_reproduce_sata_writes_consistent_report(tmp_path: Path) -> None:
    """The real report path on the SATA and estimate experiments: every id in the Markdown, CSV == JSON."""
    from spikeloop.cli import main

    rc = main(["reproduce", "estimate", "--out", str(tmp_path), "--quiet", "--json", str(tmp_path / "x.json")])
    assert rc == 0
    js = json.loads((tmp_path / "rows.json").read_text())
    assert js == json.loads((tmp_path / "x.json").read_text())
    ids = {r["id"] for r in js}
    assert {f"table2-est-{w}" for w in WORKS} <= ids
    md = (tmp_path / "report.md").read_text()
    with (tmp_path / "rows.csv").open() as f:
        for c, j in zip(csv.DictReader(f), js, strict=True):
            assert c["id"] == j["id"] and c["ours"] == fmt(j["ours"])
            assert f"| {j['id']} " in md
    assert png_variance(tmp_path / "table2.png") > 1e-3
    drawn = {s.name: s.caption for s in SPECS if (tmp_path / s.name).exists()}
    check_html_report(tmp_path, drawn)


# --- figures a reviewer accepts ---------------------------------------------------------------------------------


def _series_count(ax: Axes) -> int:
    """Data series drawn on ``ax``: bar groups, error-bar series and lines (error-bar parts count once)."""
    from matplotlib.container import BarContainer, ErrorbarContainer

    owned: set[int] = set()
    n = 0
    for c in ax.containers:
        if isinstance(c, ErrorbarContainer):
            owned.update(id(a) for a in c.get_children())
            n += c.get_label() != "_nolegend_"
        elif isinstance(c, BarContainer):
            n += 1
    return n + sum(1 for line in ax.lines if id(line) not in owned)


def figure_problems(fig: Figure) -> list[str]:
    """What a reviewer would reject in ``fig``: an axis without a worded label, offset / scientific tick labels,
    non-integer ticks on a timesteps axis, several series without a legend, a row id as a title."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # tick labels and offset texts are fixed at draw time
    problems = []
    for i, ax in enumerate(fig.axes):
        where = f"axes {i} {ax.get_title()!r}"
        if re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", ax.get_title().strip()):
            problems.append(f"{where}: title is a row id")
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            text = axis.get_label_text().strip()
            if not re.search(r"[A-Za-z]{3,}", re.sub(r"\([^)]*\)", "", text)):
                problems.append(f"{where}: {name} label {text!r} has no words")
            if axis.get_offset_text().get_text():
                problems.append(f"{where}: {name} offset text {axis.get_offset_text().get_text()!r}")
            labels = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
            if any(re.search(r"\de[+-]?\d|\\times|\^\{|\$", t) for t in labels):
                problems.append(f"{where}: {name} tick labels in scientific notation: {labels}")
            if "timesteps" in text:
                lo, hi = sorted(axis.get_view_interval())
                locs = [v for v in axis.get_majorticklocs() if lo - 1e-9 <= v <= hi + 1e-9]
                if (
                    not locs
                    or any(abs(v - round(v)) > 1e-9 for v in locs)
                    or any(not re.fullmatch(r"-?\d+", t) for t in labels)
                ):
                    problems.append(f"{where}: {name} integer axis has ticks {locs} labelled {labels}")
        if _series_count(ax) >= 2 and ax.get_legend() is None and not fig.legends:
            problems.append(f"{where}: {_series_count(ax)} series and no legend")
    return problems


@pytest.fixture(scope="module")
def built() -> dict[str, tuple[Figure, str]]:
    figs, missing = build_figures(synthetic_rows(), synthetic_sweep())
    assert missing == {"table2_improvement.png": "no table2-x-* rows"}
    return figs


def test_figure_checker_rejects_a_default_matplotlib_figure() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    ax.plot([1, 2, 3, 4], [1e6 + 1, 1e6 + 2, 1e6 + 3, 1e6 + 4])
    ax.plot([1, 2, 3, 4], [1e6 + 4, 1e6 + 3, 1e6 + 2, 1e6 + 1])
    ax.set_xlabel("timesteps T")
    ax.set_ylabel("x")
    ax.set_title("f6a-c2-area")
    found = " | ".join(figure_problems(fig))
    for what in (
        "title is a row id",
        "y label 'x' has no words",
        "y offset text",
        "integer axis has ticks",
        "2 series and no legend",
    ):
        assert what in found, (what, found)


def test_every_figure_passes_the_checks(built: dict[str, tuple[Figure, str]]) -> None:
    assert set(built) == {s.name for s in SPECS} - {"table2_improvement.png"}
    for name, (fig, caption) in built.items():
        assert caption
        assert figure_problems(fig) == [], name


def test_dt_sensitivity_figure(built: dict[str, tuple[Figure, str]]) -> None:
    fig = built["dt_sensitivity.png"][0]
    assert [ax.get_title() for ax in fig.axes] == [
        "SpikeFlow, VGG16 Tiny-ImageNet: EDP",
        "SATA, VGG9 CIFAR-10: energy",
    ]
    for ax in fig.axes:
        lines = {ln.get_label(): ln for ln in ax.get_lines()}
        sweep = lines["spikeloop, exits split around the mean"]
        assert list(sweep.get_xdata()) == [1.0, 2.0, 2.14, 3.0]  # sorted by mean, the paper's point among them
        assert list(lines["paper, at its stated mean"].get_xdata()) == [2.14]
        assert list(lines["spikeloop, measured exits"].get_xdata()) == [1.3]
        assert list(lines["spikeloop, measured exits"].get_ydata()) == [6.0]


def test_improvement_factor_figure_passes_the_checks() -> None:
    rows = [
        Row(id=f"table2-x-{tool}-{w}", paper=2.0 + i, ours=2.1 + i, unit="x")
        for tool in ("sata", "spikesim")
        for i, w in enumerate(WORKS)
    ]
    figs, _ = build_figures(rows)
    fig, _ = figs["table2_improvement.png"]
    assert figure_problems(fig) == []
    assert fig.axes[0].get_ylabel() == "improvement factor (x)"


def test_energy_vs_t_integer_ticks_and_readable_unit(built: dict[str, tuple[Figure, str]]) -> None:
    ax = built["energy_vs_T.png"][0].axes[0]
    assert list(ax.get_xticks()) == [1, 2, 3, 4]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4"]
    # rows hold 100..400 µJ: shown as µJ, not nJ x 1e5
    assert ax.get_ylabel() == "energy per inference (µJ)"
    big = [Row(id=f"f4b-energy-T{t}", paper=None, ours=1.1e6 * t, unit="nJ") for t in (1, 2, 3, 4)]
    fig = plot_energy_vs_t(big)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "energy per inference (mJ)" and max(ax.get_ylim()) < 10
    assert figure_problems(fig) == []


def test_energy_unit() -> None:
    assert energy_unit([4.4e6], "nJ") == (pytest.approx(1e-6), "mJ")
    assert energy_unit([999.0], "nJ") == (1.0, "nJ")
    assert energy_unit([2.7e4, 5.8e7], "nJ", smallest=True) == (pytest.approx(1e-3), "µJ")
    assert energy_unit([3.0], "x") == (1.0, "x")


def test_lif_sharing_titles_in_words(built: dict[str, tuple[Figure, str]]) -> None:
    fig = built["lif_sharing.png"][0]
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["SATA (28 nm): LIF power", "SpikeFlow (65 nm): LIF-module area"]
    assert fig.axes[1].get_ylabel() == "area reduction C#1 / C#n (x)"
    assert all(ax.get_legend() is not None for ax in fig.axes)


def test_accuracy_figure_software_line_intervals_colours(built: dict[str, tuple[Figure, str]]) -> None:
    from matplotlib.colors import to_hex
    from matplotlib.container import ErrorbarContainer

    fig = built["accuracy_ir_drop.png"][0]
    assert "test MLP 8-4-2" in fig.get_suptitle()
    sweep = synthetic_sweep()
    for ax, bn in zip(fig.axes, (False, True), strict=True):
        flat = [np.asarray(line.get_ydata()) for line in ax.lines]
        flat = [y for y in flat if len(y) > 1 and np.all(y == y[0])]
        assert [y[0] for y in flat] == [pytest.approx(98.0)]  # software accuracy, %
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        colours = {}
        for c in bars:
            enc = str(c.get_label()).removesuffix(" encoding")
            colours[enc] = to_hex(c[0].get_color())
            pts = sorted(
                (p for p in sweep if p["encoding"] == enc and p["bn_adapt"] == bn),
                key=lambda p: p["wire_resistance_ohm"],
            )
            segs = c[2][0].get_segments()  # vertical error bars: 95 % interval, in %
            assert [(s[0][1], s[1][1]) for s in segs] == [
                (pytest.approx(100 * p["crossbar_accuracy_low"]), pytest.approx(100 * p["crossbar_accuracy_high"]))
                for p in pts
            ]
        assert set(colours) == {"offset", "hrs", "differential"}
        assert len(set(colours.values())) == 3
        assert colours == {e: to_hex(ENCODING_COLORS[e]) for e in colours}  # same colour per encoding in both panels
        assert ax.get_legend() is not None


def test_f6b_rows_figure_error_bars_are_the_rows_intervals(built: dict[str, tuple[Figure, str]]) -> None:
    from matplotlib.container import ErrorbarContainer

    ax = built["f6b_rows.png"][0].axes[0]
    segs = [s for c in ax.containers if isinstance(c, ErrorbarContainer) for s in c[2][0].get_segments()]
    ids = {r.id: r for r in synthetic_rows()}
    want = [ids[k].ci95 for k in ("f6b-enc-5ohm", "f6b-enc", "f6b-bn")]
    assert [(pytest.approx(s[0][1]), pytest.approx(s[1][1])) for s in segs] == want
    assert ax.get_ylabel() == "accuracy difference (% points)"


def test_one_style_across_figures(built: dict[str, tuple[Figure, str]]) -> None:
    sizes = {
        (
            ax.title.get_fontsize(),
            ax.xaxis.label.get_fontsize(),
            ax.yaxis.label.get_fontsize(),
            ax.xaxis.get_ticklabels()[0].get_fontsize(),
        )
        for fig, _ in built.values()
        for ax in fig.axes
    }
    assert len(sizes) == 1, sizes
    assert all(ax.spines["top"].get_visible() is False for fig, _ in built.values() for ax in fig.axes)


def _png_chunks(data: bytes) -> dict[bytes, list[bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, list[bytes]] = {}
    pos = 8
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.setdefault(data[pos + 4 : pos + 8], []).append(data[pos + 8 : pos + 8 + n])
        pos += 12 + n
    return chunks


@pytest.fixture(scope="module")
def drawn_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, str]]:
    """Every figure of the synthetic rows and sweep saved once: (folder, drawn, missing)."""
    out = tmp_path_factory.mktemp("figures")
    drawn, missing = draw_all(synthetic_rows(), out, synthetic_sweep())
    return out, drawn, missing


def test_saved_pngs_share_dpi_and_metadata(drawn_folder: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    tmp_path, drawn, _ = drawn_folder
    for name in drawn:
        chunks = _png_chunks((tmp_path / name).read_bytes())
        ppm_x, ppm_y, unit = struct.unpack(">IIB", chunks[b"pHYs"][0])
        assert unit == 1 and round(ppm_x * 0.0254) == round(ppm_y * 0.0254) == DPI, name
        assert b"Software\x00spikeloop" in chunks[b"tEXt"], name


# --- report.html --------------------------------------------------------------------------------------------------


class Page(HTMLParser):
    """Tables (header cells, body rows of cell texts), images and anything loaded from outside."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list]] = {}
        self.images: list[dict[str, str | None]] = []
        self.external: list[str] = []
        self.scripts = 0
        self._table: dict[str, list] | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("src", "href"):
            if a.get(key) and not str(a[key]).startswith(("data:", "#")):
                self.external.append(f"{tag} {key}={a[key]}")
        if tag == "table":
            self._table = self.tables.setdefault(str(a.get("id")), {"th": [], "rows": []})
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(a)
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None and self._table is not None:
            text = "".join(self._cell).strip()
            (self._table["th"] if tag == "th" else self._row).append(text)
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row:
            self._table["rows"].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse_page(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_html_parser_catches_a_broken_page(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<table id="rows"><tr><th>id</th></tr><tr><td>a</td><td>b</td></tr></table>'
        '<img src="https://cdn.example/x.png"><script src="https://cdn.example/s.js"></script>'
    )
    page = parse_page(bad)
    assert page.tables["rows"] == {"th": ["id"], "rows": [["a", "b"]]}
    assert len(page.external) == 2


def check_html_report(out: Path, drawn: dict[str, str]) -> Page:
    page = parse_page(out / "report.html")
    js = json.loads((out / "rows.json").read_text())
    table = page.tables["rows"]
    assert table["th"] == ["id", "paper", "ours", "unit", "ours/paper", "note", "command"]
    assert all(len(r) == len(table["th"]) for r in table["rows"])  # one <th> per column
    assert [r[0] for r in table["rows"]] == [j["id"] for j in js]  # every row id, in order
    for cells, j in zip(table["rows"], js, strict=True):  # the same values as report.md
        assert cells == [j["id"], fmt(j["paper"]), fmt(j["ours"]), j["unit"], fmt(j["ratio"]), j["note"], j["command"]]
    assert len(page.images) == len(drawn) > 0
    for img in page.images:
        src = str(img["src"])
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert data in {(out / n).read_bytes() for n in drawn}
        assert img["alt"] in drawn.values()
    assert page.external == [] and page.scripts == 1
    return page


def test_html_report_matches_rows(drawn_folder: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    tmp_path, drawn, missing = drawn_folder
    write_report(synthetic_rows(), tmp_path, figures=drawn, missing=missing, skipped={"spikesim": "not available"})
    check_html_report(tmp_path, drawn)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "area &lt;b&gt;&amp;amp;&lt;/b&gt;" in html  # notes are escaped, not markup
    assert "spikesim" in html and "table2_improvement.png" in html  # parts not run, figures not drawn


# --- timings ------------------------------------------------------------------------------------------------------


def _fake_experiments(delay: float = 0.0) -> dict[str, SimpleNamespace]:
    rows = synthetic_rows()
    sweep = synthetic_sweep()

    def make(prefixes: tuple[str, ...], wait: float) -> SimpleNamespace:
        def rows_of(quiet: bool = True) -> list[Row]:
            time.sleep(wait)
            return [r for r in rows if r.id.startswith(prefixes)]

        return SimpleNamespace(rows=rows_of, cached_sweep=lambda: sweep)

    return {
        "estimate": make(("table2-est",), 0.0),
        "sata": make(("table2-sata", "f4b", "f5"), delay),
        "spikesim": make(("f6a",), 0.0),
        "accuracy": make(("f6b",), 0.0),
        "versus": make(("versus-",), 0.0),
    }


def test_gather_rows_times_each_experiment(monkeypatch: pytest.MonkeyPatch) -> None:
    from spikeloop.commands import reproduce

    fakes = _fake_experiments(delay=0.2)
    monkeypatch.setattr(reproduce, "_load", lambda name: None if name == "spikesim" else fakes[name])
    timings: dict[str, float] = {}
    skipped: list[str] = []
    rows = reproduce.gather_rows("all", skipped=skipped, timings=timings)
    assert skipped == ["spikesim"] and list(timings) == ["estimate", "sata", "accuracy", "versus"]
    assert timings["sata"] >= 0.2 > timings["estimate"]
    assert {r.id for r in rows} >= {"f6b-enc", "table2-est-SBP"}


def test_gather_rows_starts_background_experiments_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """An experiment with start/finish is started before the others run and collected after them; the rows keep
    the experiments' order and every experiment has a step."""
    from spikeloop.commands import reproduce

    events: list[str] = []
    fakes = _fake_experiments(delay=0.0)
    sata_rows = fakes["sata"].rows

    def start() -> str:
        events.append("sata start")
        return "handle"

    def finish(handle: str) -> list[Row]:
        events.append(f"sata finish {handle}")
        return sata_rows()

    fakes["sata"] = SimpleNamespace(start=start, finish=finish, rows=sata_rows)
    for name in ("estimate", "spikesim", "accuracy", "versus"):
        inner = fakes[name].rows

        def rows_of(quiet: bool = True, _name: str = name, _inner=inner) -> list[Row]:  # noqa: ANN001
            events.append(_name)
            return _inner()

        fakes[name] = SimpleNamespace(rows=rows_of, cached_sweep=fakes[name].cached_sweep)
    monkeypatch.setattr(reproduce, "_load", lambda name: fakes[name])
    timings: dict[str, float] = {}
    background: dict[str, float] = {}
    rows = reproduce.gather_rows("all", timings=timings, background=background)
    assert events == ["sata start", "estimate", "spikesim", "accuracy", "versus", "sata finish handle"]
    assert list(timings) == ["estimate", "sata", "spikesim", "accuracy", "versus"] and list(background) == ["sata"]
    firsts = [next(i for i, r in enumerate(rows) if r.id.startswith(p)) for p in ("table2-est", "table2-sata", "f6a")]
    assert firsts == sorted(firsts)


@pytest.fixture(scope="module")
def cli_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``spikeloop reproduce`` end to end on fake experiments: the report folder and stderr."""
    from spikeloop.cli import main
    from spikeloop.commands import reproduce

    out = tmp_path_factory.mktemp("report")
    fakes = _fake_experiments(delay=0.1)
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stderr(err), redirect_stdout(io.StringIO()):
        mp.setattr(reproduce, "_load", lambda name: fakes[name])
        assert main(["reproduce", "--out", str(out)]) == 0
    return out, err.getvalue()


def test_reproduce_prints_and_writes_timings(cli_report: tuple[Path, str]) -> None:
    out, err = cli_report
    line = next(x for x in err.splitlines() if "wall time:" in x)
    steps = ("estimate", "sata", "spikesim", "accuracy", "versus", "figures", "report")
    for step in steps:
        assert re.search(rf"\b{step} \d+\.\d s", line), (step, line)
    timings = json.loads((out / "timings.json").read_text())
    assert set(steps) <= set(timings) and timings["sata"] >= 0.1
    assert timings["total"] == pytest.approx(sum(v for k, v in timings.items() if k != "total"), abs=0.01)
    rows = json.loads((out / "rows.json").read_text())
    assert isinstance(rows, list) and not any(r["id"] in timings for r in rows)  # timings are not rows
    md = (out / "report.md").read_text()
    section = md.split("## Timings", 1)[1].split("##", 1)[0]
    for step in steps[:-1]:  # the report writing itself is timed after report.md is written
        assert re.search(rf"\| {step} +\| \d+\.\d+ ", section), step
    page = parse_page(out / "report.html")
    assert [r[0] for r in page.tables["timings"]["rows"]] == [s for s in ("startup", *steps[:-1]) if s in timings]


def test_reproduce_writes_html_report(cli_report: tuple[Path, str]) -> None:
    out, err = cli_report
    assert "report.html" in err
    drawn = {s.name: s.caption for s in SPECS if (out / s.name).exists()}
    assert set(drawn) == {s.name for s in SPECS} - {"table2_improvement.png"}
    check_html_report(out, drawn)
