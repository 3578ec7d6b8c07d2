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

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import UserInputError
from .html_parts import (brackets_html, canonical, curves_html, esc, matrix_html, number,
                         signature, spectrum_html, value_html)
from .report import dilation_note, family_note
from .saved_runs import ground_truth, load_run, run_from_result


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
    badge = "" if confidence is None else f' <span class="badge">confidence {number(confidence, 2)}</span>'
    return f'<span class="algebra">{esc(name)}</span>{badge}'


def _generators_html(run: dict, truth) -> str:
    scales = run["record"].get("feature_scales")
    found = canonical(np.asarray(run["record"]["generators"], dtype=np.float64), scales)
    parts = ['<div class="mrow">' + "".join(matrix_html(m, f"L{i + 1}") for i, m in enumerate(found)) + "</div>"]
    if truth is not None:
        name, source, basis = truth
        parts.append(f'<div class="sub">ground truth: <b>{esc(name)}</b> <span class="muted">({esc(source)})</span></div>')
        parts.append('<div class="mrow truth">' + "".join(
            matrix_html(m, f"T{i + 1}") for i, m in enumerate(canonical(basis, scales))) + "</div>")
    else:
        parts.append('<div class="sub muted">ground truth unknown</div>')
    return "".join(parts)


def _texts(items) -> list[str]:
    """Vector fields or equations as stored: strings, or records with a "text"."""
    if isinstance(items, (str, dict)):
        items = [items]
    if not isinstance(items, list):
        return [json.dumps(items, default=str)]
    return [str(i.get("text", json.dumps(i, default=str))) if isinstance(i, dict) else str(i) for i in items]


def _equations_html(record: dict) -> str:
    """Equations (SINDy, LieNLSD's identified PDE) and vector fields, found next to true."""
    parts = []
    for key in ("equations", "equation"):
        if record.get(key) is not None:
            parts.append(f'<div class="sub">{key}</div>' + value_html(record[key]))
    fields = record.get("vector_fields")
    if fields is not None:
        if isinstance(fields, dict) and "text" not in fields:     # named fields {"X1": "..."}
            lines = [f"{k} = {v.get('text', v) if isinstance(v, dict) else v}" for k, v in fields.items()]
        else:
            lines = [f"X{i + 1} = {t}" for i, t in enumerate(_texts(fields))]
        parts.append('<div class="sub">vector fields found</div><pre class="text">'
                     + esc("\n".join(lines) or "none") + "</pre>")
    if record.get("true_vector_fields") is not None:
        parts.append('<div class="sub">true vector fields</div><pre class="text">'
                     + esc("\n".join(_texts(record["true_vector_fields"]))) + "</pre>")
    if record.get("superposition"):
        extra = _texts(record["superposition"])
        parts.append(f'<details><summary>{len(extra)} superposition field(s)</summary><pre class="text">'
                     + esc("\n".join(extra)) + "</pre></details>")
    if isinstance(record.get("grassmann_distance"), (int, float)):
        parts.append(f'<div class="sub">Grassmann distance to the truth: {number(record["grassmann_distance"])}</div>')
    return "".join(parts)


def verify_html(report) -> str:
    """`symdisco verify`'s report: one row per generator, spurious ones marked; anything
    else in a readable generic form."""
    rows = report.get("generators") if isinstance(report, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return value_html(report)
    columns = [c for c in ("violation", "ratio", "judge_accuracy") if any(c in r for r in rows)]
    head = "".join(f"<th>{esc(c.replace('_', ' '))}</th>" for c in ["generator", *columns, "verdict"])
    body = []
    for i, row in enumerate(rows):
        index = row.get("generator", i)
        name = f"L{index + 1}" if isinstance(index, int) else esc(index)
        verdict = ('<span class="bad">spurious</span>' if row.get("spurious")
                   else '<span class="good">holds</span>')
        body.append(f"<tr><td>{name}</td>" + "".join(f"<td>{number(row.get(c))}</td>" for c in columns)
                    + f"<td>{verdict}</td></tr>")
    passed = report.get("passed")
    headline = ("" if passed is None else
                f'<div class="sub">{"all generators hold" if passed else "flagged: " + ", ".join(f"L{i + 1}" for i in report.get("flagged", []) if isinstance(i, int))}</div>')
    extra = {k: report[k] for k in ("baseline", "eps", "rule") if k in report}
    return (headline + f'<table class="grid"><tr>{head}</tr>{"".join(body)}</table>'
            + (f"<details><summary>baseline and rule</summary>{value_html(extra)}</details>" if extra else ""))


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
                "generators": f"{k} × {n}×{n}" if k else "none found", "closure residual": record.get("closure_residual"),
                "seconds": record.get("seconds"), "seed": record.get("seed")}
    check = record.get("predictor_check")
    if check:  # LieSD: how well the predictor its derivatives came from generalises
        overview["derivatives' predictor, held-out " + ("accuracy" if check["metric"] == "accuracy" else "R²")] = \
            round(float(check["held_out"]), 3)
    if dilation_note(record):
        overview["note"] = dilation_note(record)
    similarity, note = record.get("similarity"), ""
    if similarity is None and truth is not None:
        similarity, note = _similarity(generators, truth[2]), ' <span class="muted">(computed here)</span>'
    summary = (f'<div class="headline">{_algebra_html(record)}</div>'
               f'<div class="simline">similarity to truth {_similarity_html(similarity)}{note}</div>'
               + value_html(overview))
    cells = {"overview": summary, "generators": _generators_html(run, truth),
             "structure": brackets_html(canonical(generators, record.get("feature_scales"))),
             "metric": "", "spectrum": "", "equations": "", "verify": ""}
    conformal = record.get("conformal_metric")
    if metric is not None:
        kept = f"; {family_note(record)}" if family_note(record) else ""
        cells["metric"] = (matrix_html(metric) + f'<div class="sub">signature {signature(metric)}{kept}</div>')
    elif conformal is not None:
        cells["metric"] = (matrix_html(conformal) + f'<div class="sub">kept up to scale (the algebra holds the '
                           f'dilation), signature {signature(conformal)}</div>')
    else:
        cells["metric"] = '<p class="muted">none preserved</p>'
    if record.get("singular_values") is not None:
        decided = next((record[k] for k in ("chosen_k", "null_dimension", "dimension")
                        if isinstance(record.get(k), int)), None)
        cells["spectrum"] = spectrum_html(record["singular_values"],
                                          decided if isinstance(decided, int) else None)
    cells["training"] = curves_html(run["history"]) if run["history"] else '<p class="muted">no training log</p>'
    cells["equations"] = _equations_html(record)
    if record.get("verify") is not None:
        cells["verify"] = verify_html(record["verify"])
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
.sd-report .good{color:#1f7a52;font-weight:600}
.sd-report .bad{color:#b3261e;font-weight:700}
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
        path = f'<span class="path">{esc(run["directory"])}</span>' if run["directory"] else ""
        parts.append(f'<div class="colhead">{esc(run["label"])}{path}</div>')
    for row in ROWS:
        if not any(c[row] for c in cells):
            continue
        parts.append(f'<div class="rowhead">{esc(ROW_TITLES[row])}</div>')
        parts += [f'<div class="cell {row}">{c[row] or "<p class=muted>—</p>"}</div>' for c in cells]
    return f'<div class="grid-wrap"><div class="cmp" style="{columns}">{"".join(parts)}</div></div>'


def page_html(runs: list[dict], title: str = "symdisco report") -> str:
    """A whole self-contained page (inline CSS, images as data URIs, no script)."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = comparison_html(runs)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>body{{margin:20px;background:#f0f2f5}}{STYLE}</style></head>"
            f'<body><div class="sd-report"><h1>{esc(title)}</h1>'
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
