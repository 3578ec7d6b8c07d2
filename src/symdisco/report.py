"""`symdisco report DIR`: a readable summary of a saved result, with its figures redrawn."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .io_utils import atomic_write_text
from .result import SymmetryResult


def _matrix(rows) -> str:
    return "\n".join("    [" + "  ".join(f"{v:7.3f}" for v in row) + "]" for row in rows)


def write_report(directory) -> str:
    """Load DIR/result.json, redraw DIR/generators.png and losses.png, write DIR/report.md."""
    result = SymmetryResult.load(directory)
    result.save(directory)  # redraws the figures from the stored numbers
    record = result.to_dict()
    lines = [f"# {record['method']} on {record['dataset']}", "",
             f"- identified algebra: {record['algebra']} (confidence {record['algebra_confidence']:.2f})"
             if record["algebra_confidence"] is not None else f"- identified algebra: {record['algebra']}",
             "- similarity to ground truth: " + ("n/a" if record["similarity"] is None
                                                  else f"{record['similarity']:.4f}"),
             f"- closure residual: {record['closure_residual']:.3g}" if record["closure_residual"] is not None else "",
             f"- seconds: {record['seconds']}, seed: {record['seed']}",
             f"- coefficient law: {record['coefficient_law']}", ""]
    generators = np.asarray(record["generators"])
    if generators.shape[-1] <= 12:
        lines.append("## generators (canonical form)")
        for i, g in enumerate(result.algebra.canonical().numpy()):
            lines += [f"L{i + 1} =", "```", _matrix(g), "```"]
    else:
        lines.append(f"## generators: {generators.shape[0]} of {generators.shape[-1]}x{generators.shape[-1]} "
                     "(see generators.png)")
    if record["invariant_metric"] is not None and generators.shape[-1] <= 12:
        lines += ["## invariant metric J (L^T J + J L = 0)", "```", _matrix(record["invariant_metric"]), "```"]
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
    for key in ("equations", "rotation_angle"):
        if key in record:
            lines += [f"## {key}", "```", str(record[key]), "```"]
    if "table_markdown" in record:
        lines += ["## comparison", record["table_markdown"]]
    elif "table" in record:
        lines += ["## table", "```", str(record["table"]), "```"]
    figures = ["generators.png"] + (["losses.png"] if result.history else []) + list(record.get("figures", []))
    lines += ["", "Figures: " + ", ".join(str(f) for f in figures)]
    text = "\n".join(line for line in lines if line is not None)
    atomic_write_text(Path(directory) / "report.md", text + "\n")
    return text
