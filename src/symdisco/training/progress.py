"""Progress on stderr and a per-epoch loss log on disk (JSON lines, appendable on resume)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from tqdm import tqdm


class Progress:
    """A tqdm bar on stderr, or nothing when disabled (tests, quiet runs)."""

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


class LossLog:
    """Appends one JSON line per epoch; `read()` returns the rows written so far."""

    def __init__(self, path=None):
        self.path = Path(path) if path is not None else None
        self.rows: list[dict] = []
        if self.path is not None and self.path.is_file():
            self.rows = self.read()

    def write(self, epoch: int, **losses) -> dict:
        row = {"epoch": epoch, **{k: float(v) for k, v in losses.items()}}
        self.rows = [r for r in self.rows if r["epoch"] < epoch] + [row]
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
        return row

    def read(self) -> list[dict]:
        rows: list[dict] = []
        for line in self.path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                # a run resumed at epoch e supersedes everything logged from e on
                rows = [r for r in rows if r["epoch"] < row["epoch"]] + [row]
        return rows
