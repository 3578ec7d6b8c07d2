"""`symdisco report DIR [DIR...] [--html PAGE.html]`: a readable summary of saved results.

Without --html: prints each run's summary and writes the report's own files into its folder
(report.md, report_generators.png with the ground truth underneath when known,
report_losses.png). With --html: one self-contained page comparing the runs side by side
(`html_report`). result.json and the figures `discover` drew are never rewritten: a
hand-edited result keeps its `algebra`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .html_parts import canonical
from .saved_runs import ground_truth, load_run

REPORT_FILES = ("report.md", "report_generators.png", "report_losses.png")


def _matrix(rows) -> str:
    return "\n".join("    [" + "  ".join(f"{v:7.3f}" for v in row) + "]" for row in rows)


def _predictor_line(check: dict | None) -> str | None:
    """LieSD's held-out score of the predictor its derivatives came from, with the doubt it implies."""
    if not check:
        return None
    from .methods.fit_check import WEAK_FIT

    what = "accuracy" if check["metric"] == "accuracy" else "R^2"
    weak = check["held_out"] < WEAK_FIT.get(check["metric"], 0.0)
    return (f"- derivatives' predictor, held-out {what}: {check['held_out']:.3f}"
            + (" (weak: the derivatives and the dimension read from them are not reliable)" if weak else ""))


def family_note(record: dict) -> str:
    """Where the generators keep several independent forms, that the metric shown is one of them
    (`forms.informative_member`); "" otherwise."""
    family = record.get("invariant_forms") or 0
    if family < 2:
        return ""
    return f"one member, the furthest from degenerate, of a {family}-dimensional family of invariant forms"


def dilation_note(record: dict) -> str:
    """LieSD's dilation left out as a weak dependence on scale (`methods/drift`); "" otherwise."""
    left_out = record.get("dilation_left_out")
    if not left_out:
        return ""
    return (f"dilation left out: a weak dependence on scale, not a symmetry (singular value "
            f"{left_out['singular_value']:.3g}, {left_out['mean_shift_share']:.0%} of it a mean shift the fits agree "
            f"on; --generators {len(record.get('generators') or []) + 1} keeps it)")


def summary_text(run: dict) -> str:
    """The markdown summary of one run, from its result.json as stored."""
    record = run["record"]
    confidence = record.get("algebra_confidence")
    similarity = record.get("similarity")
    residual = record.get("closure_residual")
    lines = [f"# {record['method']} on {record.get('dataset', '?')}", "",
             f"- identified algebra: {record.get('algebra', '?')}"
             + (f" (confidence {confidence:.2f})" if isinstance(confidence, (int, float)) else ""),
             "- similarity to ground truth: " + ("n/a" if similarity is None else f"{similarity:.4f}"),
             f"- closure residual: {residual:.3g}" if isinstance(residual, (int, float)) else None,
             f"- seconds: {record.get('seconds')}, seed: {record.get('seed')}",
             f"- coefficient law: {record.get('coefficient_law')}", _predictor_line(record.get("predictor_check")),
             f"- {dilation_note(record)}" if dilation_note(record) else None, ""]
    generators = np.asarray(record["generators"], dtype=np.float64)
    n = generators.shape[-1]
    if not generators.size:
        lines.append("## generators: none (no symmetry found)")
    elif n <= 12:
        lines.append("## generators (canonical form)")
        for i, g in enumerate(canonical(generators, record.get("feature_scales"))):
            lines += [f"L{i + 1} =", "```", _matrix(g), "```"]
    else:
        lines.append(f"## generators: {generators.shape[0]} of {n}x{n} (see report_generators.png)")
    if record.get("invariant_metric") is not None and n <= 12:
        lines += ["## invariant metric J (L^T J + J L = 0)", "```", _matrix(record["invariant_metric"]), "```"]
        if family_note(record):
            lines.append(family_note(record).capitalize() + " (LieGNN uses them all).")
    elif record.get("conformal_metric") is not None and n <= 12:
        lines += ["## metric kept up to scale J (L^T J + J L = 2c J: the algebra holds the dilation)", "```",
                  _matrix(record["conformal_metric"]), "```"]
    if record.get("vector_fields") is not None:               # lienlsd: the symmetries themselves
        lines += ["## vector fields", ""] + [f"- `{f['text']}`" for f in record["vector_fields"]]
        if record.get("superposition"):
            lines += ["", "superposition (u -> u + a(t, x), not counted): "
                      + ", ".join(f"`{f['text']}`" for f in record["superposition"])]
        if record.get("equation"):
            lines += ["", "equation identified: " + "; ".join(f"`{e}`" for e in record["equation"])]
        if record.get("grassmann_distance") is not None:
            lines += [f"Grassmann distance to the true symmetries: {record['grassmann_distance']:.3g}"]
        lines.append("")
    for key in ("equations", "rotation_angle", "verify"):   # vector_fields: listed above
        if record.get(key) is not None:
            lines += [f"## {key}", "```", str(record[key]), "```"]
    if "table_markdown" in record:
        lines += ["## comparison", str(record["table_markdown"])]
    elif "table" in record:
        lines += ["## table", "```", str(record["table"]), "```"]
    return "\n".join(line for line in lines if line is not None)


def write_files(run: dict, text: str) -> list[str]:
    """Write the report's own files into the run's folder; returns their names. OSError
    (a read-only folder) propagates, after removing nothing that was there before."""
    from .io_utils import atomic_write_text
    from .plots import basis_figure, history_figure, save_figure

    directory = Path(run["directory"])
    record = run["record"]
    truth = ground_truth(run)
    title = f"{record['method']} on {record.get('dataset', '?')}: {record.get('algebra', '?')}"
    scales = record.get("feature_scales")
    generators = canonical(np.asarray(record["generators"], dtype=np.float64), scales)
    written = []
    save_figure(basis_figure(generators, title=title, truth=None if truth is None else canonical(truth[2], scales)),
                directory / "report_generators.png")
    written.append("report_generators.png")
    if run["history"]:
        save_figure(history_figure(run["history"]), directory / "report_losses.png")
        written.append("report_losses.png")
    atomic_write_text(directory / "report.md", text + "\n\nFigures: " + ", ".join(written) + "\n")
    return ["report.md"] + written


def write_report(directory) -> str:
    """Summary of DIR/result.json; writes report.md and figures (see module doc). Returns
    the summary; raises OSError when the folder cannot be written."""
    run = load_run(directory)
    text = summary_text(run)
    write_files(run, text)
    return text
