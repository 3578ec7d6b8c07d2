"""The pieces of the HTML report: matrices as coloured tables (images when large), brackets,
curves and spectra as embedded PNGs, any JSON value as a readable table. Every function
returns an HTML fragment; nothing reaches the network."""
from __future__ import annotations

import base64
import html
import io
import json
import math

import numpy as np

TABLE_MAX_N = 16      # larger generators are drawn as images
NUMBERS_MAX_N = 6     # up to this size the cells show their numbers
BRACKET_TOL = 0.05    # structure constants below this fraction of the largest are not listed


def esc(value) -> str:
    return html.escape(str(value))


def number(value, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return esc(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value) or value == 0:
        return esc(value if value else 0)
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
    caption = f'<div class="mtitle">{esc(title)}</div>' if title else ""
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


def canonical(generators: np.ndarray, scales=None) -> np.ndarray:
    """The run's span in the deterministic display basis (`lie.algebra.canonical_basis`), chosen in
    the data's units when the run recorded them (`feature_scales`; see `LieAlgebra`)."""
    import torch

    from .lie.algebra import LieAlgebra

    generators = torch.as_tensor(generators, dtype=torch.float64)
    if scales is not None and len(scales) != generators.shape[-1]:
        scales = None
    return LieAlgebra(generators, scales=scales).canonical().numpy()


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
    return '<pre class="brackets">' + esc("\n".join(shown)) + "</pre>"


def signature(metric) -> str:
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


def spectrum_html(values, null: int | None = None) -> str:
    """Singular values of a closed-form method, log scale; the null ones (the symmetries) in
    colour: `null` of them as the method decided, else as the one tolerance rule
    (`lie.nullspace`) decides."""
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
        if null is not None:
            kept, how = min(null, v.size), "as the method decided"
        else:
            kept = null_count(torch.as_tensor(v / v.max())) if v.max() > 0 else v.size
            how = "below the gap"
        x = np.arange(1, v.size + 1)
        line, = ax.semilogy(x, np.maximum(v, 1e-300), "-", color="#9aa5b1", linewidth=1)
        ax.plot(x[kept:], np.maximum(v[kept:], 1e-300), "o", markersize=3.5, color="#7b8794")
        ax.plot(x[:kept], np.maximum(v[:kept], 1e-300), "o", markersize=4.5, color="#c0392b")
        notes.append(f"{name}: {kept} null ({how})")
    ax.set_xlabel("index (ascending)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3, which="major")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig) + "".join(f'<div class="sub">{esc(n)}</div>' for n in notes)


def value_html(value) -> str:
    """Any JSON value, readably: scalars inline, flat dicts and lists of dicts as tables."""
    if isinstance(value, str):
        return f'<pre class="text">{esc(value)}</pre>'
    if isinstance(value, (int, float, bool)) or value is None:
        return number(value)
    if isinstance(value, dict) and all(not isinstance(v, (dict, list)) or _short(v) for v in value.values()):
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{_cell(v)}</td></tr>" for k, v in value.items())
        return f'<table class="kv">{rows}</table>'
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = list(dict.fromkeys(k for row in value for k in row))
        head = "".join(f"<th>{esc(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in value)
        return f'<table class="grid"><tr>{head}</tr>{body}</table>'
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return f'<pre class="text">{esc(chr(10).join(value))}</pre>'
    return f'<pre class="text">{esc(json.dumps(value, indent=1, default=str)[:4000])}</pre>'


def _short(value) -> bool:
    return len(json.dumps(value, default=str)) <= 80


def _cell(value) -> str:
    if isinstance(value, (dict, list)):
        return esc(json.dumps(value, default=str))
    return number(value)
