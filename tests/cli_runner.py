"""Run the command line in this process, as `python -m symdisco` would.

A subprocess spends about 3 s importing torch; `test_cli.test_a_real_process_...` checks once
that a real process sees the same exit code and stderr as this.
"""
import contextlib
import io
import types

from symdisco.cli import main


def run_cli(*args):
    """Exit code, stdout and stderr of `symdisco ARGS`, run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())
