"""Progress on stderr and a per-epoch loss log on disk (JSON lines, appendable on resume)."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from tqdm import tqdm

from ..io_utils import atomic_write_text


class Progress:
    """A tqdm bar on stderr, or nothing when disabled (tests, quiet runs, ranks other than 0)."""

    def __init__(self, total: int, desc: str = "", enabled: bool = True, initial: int = 0):
        self._bar = tqdm(total=total, desc=desc, initial=initial, file=sys.stderr, leave=False,
                         dynamic_ncols=True) if enabled else None

    def update(self, n: int = 1, **postfix) -> None:
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix({k: f"{v:.4g}" if isinstance(v, float) else v for k, v in postfix.items()},
                                      refresh=False)
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _finite(value):
    """JSON has no NaN or Infinity: a non-finite loss is written as null."""
    value = float(value)
    return value if math.isfinite(value) else None


class LossLog:
    """Appends one JSON line per epoch; a run resumed at epoch e supersedes the rows from e on.

    A torn or garbled line (what a kill can leave) is dropped with one line on stderr; the
    file is rewritten without it and the old one kept beside it as *.corrupt-<time>.
    """

    def __init__(self, path=None):
        self.path = Path(path) if path is not None else None
        self.rows: list[dict] = []
        if self.path is not None and self.path.is_file():
            self.rows = self.read()

    def write(self, epoch: int, **losses) -> dict:
        row = {"epoch": epoch, **{k: _finite(v) for k, v in losses.items()}}
        if self.rows and self.rows[-1]["epoch"] >= epoch:
            self.rows = [r for r in self.rows if r["epoch"] < epoch]
        self.rows.append(row)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
        return row

    def truncate(self, last_epoch: int) -> None:
        """Keep only the rows up to `last_epoch` (the epoch a resumed checkpoint holds)."""
        kept = [r for r in self.rows if r["epoch"] <= last_epoch]
        if kept != self.rows and self.path is not None:
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        self.rows = kept

    def read(self) -> list[dict]:
        rows: list[dict] = []
        bad = 0
        for line in self.path.read_text(errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                epoch = int(row["epoch"])
            except (ValueError, KeyError, TypeError):
                bad += 1
                continue
            rows = [r for r in rows if r["epoch"] < epoch] + [row]
        if bad:
            from .checkpoints import keep_aside

            aside = keep_aside(self.path, "corrupt")
            print(f"symdisco: {self.path}: {bad} unreadable line(s) dropped (old log kept as {aside.name})",
                  file=sys.stderr)
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in rows))
        return rows
