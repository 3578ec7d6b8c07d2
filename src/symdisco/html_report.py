"""One self-contained HTML page comparing saved runs side by side (`symdisco report DIR...
--html PAGE.html`), and the same summary for one result in Jupyter
(`SymmetryResult._repr_html_`).

Each run is a column; each row one aspect: the found generators (canonical basis) next to
the ground truth, the identified algebra and its structure constants, the invariant metric,
the singular spectrum of a closed-form method (`singular_values`), loss curves, equations or
vector fields, verify scores, options and timings. Small matrices are coloured HTML tables
(numbers readable, copyable); large ones and curves are PNGs embedded as base64, so the page
needs no network and no script. Nothing here writes into a run's folder.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import UserInputError
from .result import check_record

TABLE_MAX_N = 16      # larger generators are drawn as images
NUMBERS_MAX_N = 6     # up to this size the cells show their numbers
BRACKET_TOL = 0.05    # structure constants below this fraction of the largest are not listed


# ----------------------------------------------------------------------------- reading runs


def _read_history(directory: Path) -> list[dict]:
    """Per-epoch rows from history.json, else losses.jsonl (a torn or non-JSON line is skipped)."""
    path = directory / "history.json"
    if path.is_file():
        try:
            rows = json.loads(path.read_text())
            if isinstance(rows, list):
                return [r for r in rows if isinstance(r, dict)]
        except (OSError, ValueError):
            pass
    path = directory / "losses.jsonl"
    rows = []
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def load_run(directory) -> dict:
    """{"label", "directory", "record", "history"} for a result folder; UserInputError when
    DIR/result.json is missing or not a result."""
    directory = Path(directory)
    path = directory / "result.json"
    if not path.is_file():
        raise UserInputError(f"{path}: no result.json here (run `symdisco discover` first)")
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserInputError(f"{path}: not a symdisco result ({exc})") from None
    return {"label": directory.resolve().name or str(directory), "directory": str(directory),
            "record": check_record(record, str(path)), "history": _read_history(directory)}


def run_from_result(result, label: str | None = None) -> dict:
    """The same view of an in-memory SymmetryResult (no folder)."""
    return {"label": label or f"{result.method} on {result.dataset}", "directory": None,
            "record": result.to_dict(), "history": list(result.history)}


_TRUTH_CACHE: dict[str, tuple[str, np.ndarray] | None] = {}


def ground_truth(run: dict, load_builtin: bool = True) -> tuple[str, str, np.ndarray] | None:
    """(name, source, basis (m, n, n)) of the run's ground truth: `ground_truth` stored in
    result.json, else the built-in dataset of that name (default options); None when unknown
    or acting on another space."""
    record = run["record"]
    n = np.asarray(record["generators"]).shape[-1]
    stored = record.get("ground_truth")
    if stored is not None:
        name = stored.get("name", "ground truth") if isinstance(stored, dict) else "ground truth"
        basis = stored.get("generators") if isinstance(stored, dict) else stored
        try:
            basis = np.asarray(basis, dtype=np.float64)
        except (TypeError, ValueError):
            basis = None
        if basis is not None and basis.ndim == 3 and basis.shape[-1] == n:
            return str(name), "result.json", basis
    dataset = record.get("dataset")
    if not load_builtin or not isinstance(dataset, str):
        return None
    if dataset not in _TRUTH_CACHE:
        from . import datasets

        truth = None
        if dataset in datasets.names():
            try:
                algebra = datasets.load(dataset).ground_truth
            except (UserInputError, OSError, ValueError):
                algebra = None
            if algebra is not None:
                truth = (algebra.name or "ground truth", algebra.numpy().astype(np.float64))
        _TRUTH_CACHE[dataset] = truth
    truth = _TRUTH_CACHE[dataset]
    if truth is None or truth[1].shape[-1] != n:
        return None
    return truth[0], f"built-in dataset {dataset}", truth[1]


# ----------------------------------------------------------------------------- pieces


def _esc(value) -> str:
    return html.escape(str(value))


def _number(value, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _esc(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value) or value == 0:
        return _esc(value if value else 0)
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        return f"{value:.{digits - 2}e}"
    return f"{value:.{digits}g}"


def _colour(t: float) -> str:
    """Diverging blue-white-red for t in [-1, 1]."""
    t = max(-1.0, min(1.0, t))
    end = (178, 24, 43) if t > 0 else (33, 102, 172)
    rgb = [round(255 + (c - 255) * abs(t)) for c in end]
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def matrix_html(matrix, title: str = "", scale: float | None = None) -> str:
    """A matrix as a coloured table (numbers up to NUMBERS_MAX_N), or an image when large."""
    m = np.asarray(matrix, dtype=np.float64)
    lim = scale or float(np.abs(m).max()) or 1.0
    caption = f'<div class="mtitle">{_esc(title)}</div>' if title else ""
    n = m.shape[-1]
    if max(m.shape) > TABLE_MAX_N:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(2.2, 2.2))
        ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_xticks([]), ax.set_yticks([])
        return f'<figure class="matrix">{caption}{_png(fig)}</figure>'
    numbers = n <= NUMBERS_MAX_N
    rows = []
    for row in m:
        cells = []
        for v in row:
            t = v / lim
            text = ("" if abs(v) < 5e-3 * lim else f"{v:+.2f}") if numbers else ""
            ink = "#fff" if abs(t) > 0.6 else "#222"
            cells.append(f'<td style="background:{_colour(t)};color:{ink}" title="{v:.6g}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    size = "num" if numbers else "dot"
    return f'<figure class="matrix">{caption}<table class="heat {size}">{"".join(rows)}</table></figure>'


def canonical(generators: np.ndarray) -> np.ndarray:
    """The run's span in the deterministic display basis (`lie.algebra.canonical_basis`)."""
    import torch

    from .lie.algebra import canonical_basis

    return canonical_basis(torch.as_tensor(generators, dtype=torch.float64)).numpy()


def brackets_html(basis: np.ndarray) -> str:
    """Nonzero structure constants as [L_i, L_j] = sum c L_l, in the displayed basis."""
    import torch

    from .lie.brackets import structure_constants

    k = basis.shape[0]
    if k < 2:
        return '<p class="muted">one generator: no brackets</p>'
    c = structure_constants(torch.as_tensor(basis)).numpy()
    largest = float(np.abs(c).max())
    lines, vanishing = [], 0
    for i in range(k):
        for j in range(i + 1, k):
            terms = [(c[i, j, l], l) for l in range(k) if abs(c[i, j, l]) > BRACKET_TOL * max(largest, 1e-300)]
            if not terms:
                vanishing += 1
                continue
            rhs = " ".join(f"{'−' if v < 0 else '+'} {abs(v):.2f} L{l + 1}" for v, l in terms)
            rhs = rhs[2:] if rhs.startswith("+") else "−" + rhs[2:]
            lines.append(f"[L{i + 1}, L{j + 1}] = {rhs}")
    shown = lines if len(lines) <= 20 else lines[:20] + [f"… {len(lines) - 20} more"]
    if vanishing:
        shown.append(f"{'all' if not lines else 'the other'} {vanishing} bracket(s) vanish")
    return '<pre class="brackets">' + _esc("\n".join(shown)) + "</pre>"


def _signature(metric) -> str:
    eigenvalues = np.linalg.eigvalsh(np.asarray(metric, dtype=np.float64))
    top = float(np.abs(eigenvalues).max()) or 1.0
    plus, minus = int((eigenvalues > 0.1 * top).sum()), int((eigenvalues < -0.1 * top).sum())
    zero = len(eigenvalues) - plus - minus
    return f"({plus}, {minus})" + (f", {zero} ≈ 0" if zero else "")


def curves_html(history: list[dict]) -> str:
    """Loss curves (keys with 'loss') and the other logged numbers, side by side."""
    import matplotlib.pyplot as plt

    keys = sorted({k for row in history for k, v in row.items()
                   if k not in ("epoch", "step") and isinstance(v, (int, float)) and not isinstance(v, bool)})
    if not keys:
        return '<p class="muted">no training log</p>'
    x = [row.get("epoch", row.get("step", i)) for i, row in enumerate(history)]
    groups = [g for g in ([k for k in keys if "loss" in k], [k for k in keys if "loss" not in k]) if g]
    fig, axes = plt.subplots(len(groups), 1, figsize=(3.8, 1.9 * len(groups)), squeeze=False)
    for ax, group in zip(axes[:, 0], groups):
        for key in group[:8]:
            y = [row.get(key) if isinstance(row.get(key), (int, float)) else np.nan for row in history]
            ax.plot(x, y, label=key, linewidth=1.2)
        shown = np.array([row.get(k) for row in history for k in group[:8]
                          if isinstance(row.get(k), (int, float))], dtype=np.float64)
        shown = shown[np.isfinite(shown)]
        if "loss" in group[0] and shown.size and shown.min() > 0 and shown.max() / shown.min() > 30:
            ax.set_yscale("log")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=6, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    axes[-1, 0].set_xlabel("epoch", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def spectrum_html(values) -> str:
    """Singular values of a closed-form method, log scale; those the one tolerance rule
    (`lie.nullspace`) counts as null, i.e. the symmetries, in colour."""
    import matplotlib.pyplot as plt
    import torch

    from .lie.nullspace import null_count

    arrays = values if isinstance(values, dict) else {"singular values": values}
    fig, ax = plt.subplots(figsize=(3.6, 2.3))
    notes = []
    for name, vals in arrays.items():
        try:
            v = np.sort(np.abs(np.asarray(vals, dtype=np.float64).ravel()))
        except (TypeError, ValueError):
            continue
        if v.size == 0 or not np.all(np.isfinite(v)):
            continue
        kept = null_count(torch.as_tensor(v / v.max())) if v.max() > 0 else v.size
        x = np.arange(1, v.size + 1)
        line, = ax.semilogy(x, np.maximum(v, 1e-300), "-", color="#9aa5b1", linewidth=1)
        ax.plot(x[kept:], np.maximum(v[kept:], 1e-300), "o", markersize=3.5, color="#7b8794")
        ax.plot(x[:kept], np.maximum(v[:kept], 1e-300), "o", markersize=4.5, color="#c0392b")
        notes.append(f"{name}: {kept} null (below the gap)")
    ax.set_xlabel("index (ascending)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3, which="major")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig) + "".join(f'<div class="sub">{_esc(n)}</div>' for n in notes)


def value_html(value) -> str:
    """Any JSON value, readably: scalars inline, flat dicts and lists of dicts as tables."""
    if isinstance(value, str):
        return f'<pre class="text">{_esc(value)}</pre>'
    if isinstance(value, (int, float, bool)) or value is None:
        return _number(value)
    if isinstance(value, dict) and all(not isinstance(v, (dict, list)) or _short(v) for v in value.values()):
        rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_cell(v)}</td></tr>" for k, v in value.items())
        return f'<table class="kv">{rows}</table>'
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = list(dict.fromkeys(k for row in value for k in row))
        head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in value)
        return f'<table class="grid"><tr>{head}</tr>{body}</table>'
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return f'<pre class="text">{_esc(chr(10).join(value))}</pre>'
    return f'<pre class="text">{_esc(json.dumps(value, indent=1, default=str)[:4000])}</pre>'


def _short(value) -> bool:
    return len(json.dumps(value, default=str)) <= 80


def _cell(value) -> str:
    if isinstance(value, (dict, list)):
        return _esc(json.dumps(value, default=str))
    return _number(value)


# ----------------------------------------------------------------------------- a run, row by row


def _similarity_html(value) -> str:
    if not isinstance(value, (int, float)):
        return '<span class="muted">no ground truth</span>'
    width = max(0.0, min(1.0, float(value))) * 100
    colour = "#2f9e6e" if value >= 0.95 else "#d99a1e" if value >= 0.8 else "#c8553d"
    return (f'<span class="bar"><span style="width:{width:.0f}%;background:{colour}"></span></span> '
            f'<b>{float(value):.4f}</b>')


def _algebra_html(record: dict) -> str:
    name = record.get("algebra") or "—"
    confidence = record.get("algebra_confidence")
    badge = "" if confidence is None else f' <span class="badge">confidence {_number(confidence, 2)}</span>'
    return f'<span class="algebra">{_esc(name)}</span>{badge}'


def _generators_html(run: dict, truth) -> str:
    found = canonical(np.asarray(run["record"]["generators"], dtype=np.float64))
    parts = ['<div class="mrow">' + "".join(matrix_html(m, f"L{i + 1}") for i, m in enumerate(found)) + "</div>"]
    if truth is not None:
        name, source, basis = truth
        parts.append(f'<div class="sub">ground truth: <b>{_esc(name)}</b> <span class="muted">({_esc(source)})</span></div>')
        parts.append('<div class="mrow truth">' + "".join(
            matrix_html(m, f"T{i + 1}") for i, m in enumerate(canonical(basis))) + "</div>")
    else:
        parts.append('<div class="sub muted">ground truth unknown</div>')
    return "".join(parts)


def _similarity(generators: np.ndarray, truth: np.ndarray) -> float:
    import torch

    from .lie.compare import similarity

    return float(similarity(torch.as_tensor(generators), torch.as_tensor(truth)))


def _timings(record: dict) -> dict:
    found = {"seconds": record.get("seconds")}
    for key in ("epochs_run", "steps", "seed"):
        if key in record:
            found[key] = record[key]
    for key, value in record.items():
        if key != "seconds" and "seconds" in key and isinstance(value, (int, float, dict)):
            found[key] = value
    return found


ROWS = ("overview", "generators", "structure", "metric", "spectrum", "training", "equations",
        "verify", "options")
ROW_TITLES = {"overview": "Summary", "generators": "Generators (canonical basis) and ground truth",
              "structure": "Structure constants", "metric": "Invariant metric J (Lᵀ J + J L = 0)",
              "spectrum": "Singular spectrum (closed form)", "training": "Training curves",
              "equations": "Equations / vector fields", "verify": "Verify scores",
              "options": "Options and timings"}


def run_cells(run: dict, load_builtin: bool = True) -> dict[str, str]:
    """HTML for every row of one run (empty string: nothing to show)."""
    record = run["record"]
    generators = np.asarray(record["generators"], dtype=np.float64)
    k, n = generators.shape[0], generators.shape[-1]
    truth = ground_truth(run, load_builtin)
    metric = record.get("invariant_metric")
    overview = {"method": record.get("method"), "dataset": record.get("dataset"),
                "generators": f"{k} × {n}×{n}", "closure residual": record.get("closure_residual"),
                "seconds": record.get("seconds"), "seed": record.get("seed")}
    similarity, note = record.get("similarity"), ""
    if similarity is None and truth is not None:
        similarity, note = _similarity(generators, truth[2]), ' <span class="muted">(computed here)</span>'
    summary = (f'<div class="headline">{_algebra_html(record)}</div>'
               f'<div class="simline">similarity to truth {_similarity_html(similarity)}{note}</div>'
               + value_html(overview))
    cells = {"overview": summary, "generators": _generators_html(run, truth),
             "structure": brackets_html(canonical(generators)),
             "metric": "", "spectrum": "", "equations": "", "verify": ""}
    if metric is not None:
        cells["metric"] = (matrix_html(metric) + f'<div class="sub">signature {_signature(metric)}</div>')
    else:
        cells["metric"] = '<p class="muted">none preserved</p>'
    if record.get("singular_values") is not None:
        cells["spectrum"] = spectrum_html(record["singular_values"])
    cells["training"] = curves_html(run["history"]) if run["history"] else '<p class="muted">no training log</p>'
    shown = [value_html(record[key]) for key in ("equations", "vector_fields") if record.get(key) is not None]
    cells["equations"] = "".join(shown)
    if record.get("verify") is not None:
        cells["verify"] = value_html(record["verify"])
    options = record.get("options") or {}
    law = record.get("coefficient_law")
    cells["options"] = (value_html(_timings(record))
                        + (f'<div class="sub">coefficient law</div>{value_html(law)}' if law else "")
                        + f'<details><summary>{len(options)} options</summary>{value_html(options)}</details>')
    return cells


# ----------------------------------------------------------------------------- the page

STYLE = """
.sd-report{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d232b}
.sd-report h1{font-size:22px;margin:0 0 4px}
.sd-report .meta{color:#66707a;font-size:12px;margin-bottom:16px}
.sd-report .grid-wrap{overflow-x:auto}
.sd-report .cmp{display:grid;gap:0;border:1px solid #dde2e7;border-radius:8px;overflow:hidden;min-width:min-content}
.sd-report .cmp>div{padding:10px 12px;border-top:1px solid #e6e9ee;background:#fff;min-width:0}
.sd-report .cmp>.rowhead{background:#f5f7f9;font-weight:600;color:#3b4650;font-size:12px;
  text-transform:uppercase;letter-spacing:.04em;position:sticky;left:0;z-index:1}
.sd-report .cmp>.colhead{background:#22313f;color:#fff;font-weight:600;border-top:none}
.sd-report .colhead .path{display:block;font-weight:400;color:#b8c4cf;font-size:11px;word-break:break-all}
.sd-report .cmp>.corner{background:#22313f;border-top:none}
.sd-report .headline{font-size:18px;margin-bottom:4px}
.sd-report .algebra{font-weight:700;font-family:Georgia,serif}
.sd-report .badge{font-size:11px;background:#eef2f6;border-radius:10px;padding:1px 7px;color:#44515d;vertical-align:middle}
.sd-report .bar{display:inline-block;width:90px;height:8px;background:#e9edf1;border-radius:4px;vertical-align:middle}
.sd-report .bar>span{display:block;height:8px;background:#2f9e6e;border-radius:4px}
.sd-report .simline{margin-bottom:6px;font-size:13px}
.sd-report table.kv,.sd-report table.grid{border-collapse:collapse;font-size:12px}
.sd-report table.kv th{text-align:left;font-weight:500;color:#5b6670;padding:1px 10px 1px 0;vertical-align:top}
.sd-report table.kv td,.sd-report table.grid td{padding:1px 6px 1px 0;font-variant-numeric:tabular-nums}
.sd-report table.grid th{background:#f2f4f6;padding:2px 6px;text-align:left;font-weight:600}
.sd-report table.grid td{border-top:1px solid #eceff2;padding:2px 6px}
.sd-report .mrow{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}
.sd-report .mrow.truth{padding-top:4px}
.sd-report figure.matrix{margin:0}
.sd-report .mtitle{font-size:11px;color:#5b6670;margin-bottom:2px}
.sd-report table.heat{border-collapse:collapse;border:1px solid #cfd5db}
.sd-report table.heat td{padding:0;text-align:center;font-size:10px;font-variant-numeric:tabular-nums}
.sd-report table.heat.num td{width:38px;height:22px}
.sd-report table.heat.dot td{width:9px;height:9px}
.sd-report img{max-width:100%;height:auto}
.sd-report .sub{font-size:12px;color:#3b4650;margin:6px 0 2px}
.sd-report .muted{color:#8a949d}
.sd-report p.muted{margin:0;font-size:12px}
.sd-report pre{margin:0;font:12px/1.4 ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;white-space:pre-wrap;
  background:#f7f8fa;border-radius:4px;padding:6px 8px}
.sd-report details summary{cursor:pointer;font-size:12px;color:#3b4650;margin-top:6px}
.sd-report img{display:block}
.sd-report pre.brackets{font-size:11px;max-height:260px;overflow:auto}
"""


def comparison_html(runs: list[dict], load_builtin: bool = True) -> str:
    """The comparison grid: a header row of runs, then one row per aspect (rows that no run
    has anything for are left out)."""
    cells = [run_cells(run, load_builtin) for run in runs]
    columns = f"grid-template-columns:150px repeat({len(runs)},minmax(330px,1fr))"
    parts = ['<div class="corner"></div>']
    for run in runs:
        path = f'<span class="path">{_esc(run["directory"])}</span>' if run["directory"] else ""
        parts.append(f'<div class="colhead">{_esc(run["label"])}{path}</div>')
    for row in ROWS:
        if not any(c[row] for c in cells):
            continue
        parts.append(f'<div class="rowhead">{_esc(ROW_TITLES[row])}</div>')
        parts += [f'<div class="cell {row}">{c[row] or "<p class=muted>—</p>"}</div>' for c in cells]
    return f'<div class="grid-wrap"><div class="cmp" style="{columns}">{"".join(parts)}</div></div>'


def page_html(runs: list[dict], title: str = "symdisco report") -> str:
    """A whole self-contained page (inline CSS, images as data URIs, no script)."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = comparison_html(runs)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{_esc(title)}</title>"
            f"<style>body{{margin:20px;background:#f0f2f5}}{STYLE}</style></head>"
            f'<body><div class="sd-report"><h1>{_esc(title)}</h1>'
            f'<div class="meta">{len(runs)} run(s) · generated {stamp} · generators shown in a canonical '
            "basis of their span; colour: blue negative, red positive, scaled per matrix</div>"
            f"{body}</div></body></html>\n")


def write_page(runs, path) -> Path:
    """Write one page comparing `runs` (result folders, or runs from `load_run`) to `path`,
    atomically; UserInputError when it cannot be written."""
    from .io_utils import atomic_write_text

    runs = [run if isinstance(run, dict) else load_run(run) for run in runs]
    path = Path(path)
    try:
        atomic_write_text(path, page_html(runs))
    except OSError as exc:
        raise UserInputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def result_html(result) -> str:
    """The summary of one in-memory result, for Jupyter (ground truth only when stored)."""
    return f"<style>{STYLE}</style><div class=\"sd-report\">{comparison_html([run_from_result(result)], load_builtin=False)}</div>"
