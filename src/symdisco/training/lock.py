"""A lock on an output folder: two runs never write into one folder at the same time.

An fcntl lock on DIR/.symdisco.lock, which holds the pid of the run that has it; the kernel
drops it when that process ends, even by SIGKILL, so a stale file never blocks a rerun.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from ..errors import UserInputError

LOCK_NAME = ".symdisco.lock"
_HELD: dict[str, int] = {}  # folder -> depth, for nested use in one process (CLI, then fit)


@contextmanager
def locked(directory):
    """Hold the folder's lock for the block; UserInputError naming the holder if it is taken."""
    if directory is None:
        yield
        return
    directory = Path(directory)
    key = str(directory.resolve())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise UserInputError(f"{directory} is in use by another symdisco run (pid {holder}); "
                                 f"wait for it to end or choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
            if created and {p.name for p in directory.iterdir()} == {LOCK_NAME}:  # nothing was written:
                path.unlink(missing_ok=True)                                       # leave no folder behind
                directory.rmdir()
    finally:
        handle.close()
