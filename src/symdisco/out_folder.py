"""Can a run write its results where it was asked to? Checked before any training starts.

A run that trains for minutes and then cannot save is the worst kind of failure, so the
output folder is probed up front: the nearest existing ancestor must be a writable folder
(a throw-away sub-folder is made and removed), and no part of the path may be longer than
file systems allow. Nothing is left behind by the check.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import UserInputError

NAME_MAX = 255  # bytes in one path component on every common file system


def check_out_folder(out, flag: str = "--out") -> Path:
    """`out` as a Path if results can be written there, else `UserInputError` saying why."""
    out = Path(os.fspath(out))
    shown = os.fsencode(out).decode("utf-8", "replace")
    for part in out.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise UserInputError(f"{flag} {shown[:60]}...: a folder name is {len(os.fsencode(part))} bytes "
                                 f"long; file systems allow {NAME_MAX}")
    existing = out
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # a dangling link
            raise UserInputError(f"{flag} {shown}: {existing} is a broken symbolic link")
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == out else f"lies under {existing}, which is a file"
        raise UserInputError(f"{flag} {shown}: {where}, not a folder; choose another --out")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".symdisco-probe-", dir=existing))
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UserInputError(f"{flag} {shown}: cannot write in {existing} ({reason}); choose a writable "
                             f"folder") from None
    return out
