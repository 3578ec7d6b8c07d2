"""Figures: heat maps of generator bases and training curves (matplotlib, no display)."""
from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def basis_figure(basis, title: str = "", truth=None):
    """One heat map per generator (as in the LieGAN paper), the truth on a second row."""
    rows = [np.asarray(basis)] + ([np.asarray(truth)] if truth is not None else [])
    k = max(len(r) for r in rows)
    if k == 0:  # no generators found: say so instead of drawing nothing
        fig, ax = plt.subplots(figsize=(3.6, 1.6))
        ax.axis("off")
        ax.text(0.5, 0.5, "no generators (no symmetry found)", ha="center", va="center", fontsize=9)
        if title:
            fig.suptitle(textwrap.fill(title, 40), fontsize=8)
        return fig
    fig, axes = plt.subplots(len(rows), k, figsize=(2.4 * k + 0.6, 2.4 * len(rows)), squeeze=False)
    for r, mats in enumerate(rows):
        for i in range(k):
            ax = axes[r, i]
            ax.set_xticks([]), ax.set_yticks([])
            if i >= len(mats):
                ax.axis("off")
                if r == 0 and i == 0:   # found nothing, while the truth has generators
                    ax.text(0.5, 0.5, "no generators\nfound", ha="center", va="center", fontsize=9)
                continue
            m = mats[i]
            lim = float(np.abs(m).max()) or 1.0
            ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
            if m.shape[0] <= 8:
                for (a, b), v in np.ndenumerate(m):
                    ax.text(b, a, f"{v:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if abs(v) > 0.6 * lim else "black")
            ax.set_title(("truth " if r else "L") + f"{i + 1}", fontsize=9)
    if title:
        width = max(30, int(fig.get_figwidth() * 11))
        fig.suptitle(textwrap.fill(title, width), fontsize=9)
    fig.tight_layout()
    return fig


def history_figure(history: list[dict]):
    """Loss curves from a list of per-epoch dicts."""
    keys = sorted({k for row in history for k, v in row.items() if k != "epoch" and isinstance(v, (int, float))})
    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs = [row.get("epoch", i) for i, row in enumerate(history)]
    for key in keys:
        ax.plot(epochs, [row.get(key, np.nan) for row in history], label=key)
    ax.set_xlabel("epoch")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def save_figure(fig, path) -> None:
    from .io_utils import atomic_save

    atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
