"""The command line: the result.json contract, and one line + exit 2 for every bad input."""
import json
import subprocess
import sys

import numpy as np
import pytest

from cli_runner import run_cli
from symdisco.cli import main

CONTRACT = {"method", "dataset", "generators", "similarity", "algebra", "seconds", "seed", "options"}


def test_a_real_process_shows_one_line_and_exit_2(tmp_path):
    """What a user sees: `python -m symdisco` in a subprocess, for a parser error and a data error."""
    bad = tmp_path / "nan.npz"
    np.savez(bad, x=np.array([[0.0, np.nan], [1.0, 2.0]]))
    for args, fragment in [(["frobnicate"], "invalid choice"), (["discover", str(bad)], "nan.npz")]:
        proc = subprocess.run([sys.executable, "-m", "symdisco", *args], capture_output=True, text=True, timeout=300)
        assert_one_line_error(proc, fragment)


def assert_one_line_error(proc, fragment):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert fragment in lines[0], lines[0]


def test_datasets_lists_builtins_with_ground_truth(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ["nbody2", "so2-invariant", "so3-invariant", "so2-equivariant", "lorentz-jets",
                 "discrete-rotation", "scale-invariant"]:
        assert name in out
    assert "so(1,3)" in out and "so(2)" in out


def test_discover_writes_the_result_contract_and_report(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["discover", "so2-equivariant", "--epochs", "15", "--seed", "3", "--out", str(out), "--quiet"]) == 0
    record = json.loads((out / "result.json").read_text())
    assert CONTRACT <= set(record)
    assert record["method"] == "liegan" and record["dataset"] == "so2-equivariant" and record["seed"] == 3
    assert np.asarray(record["generators"]).shape == (1, 2, 2)
    assert record["similarity"] > 0.9 and record["algebra"] == "so(2)"
    assert (out / "generators.png").stat().st_size > 0 and (out / "generators.npy").is_file()
    assert not list(out.glob(".*tmp"))
    assert main(["report", str(out)]) == 0
    assert "so(2)" in capsys.readouterr().out and (out / "report.md").is_file()


def test_discover_resumes_from_its_checkpoint(tmp_path):
    out = tmp_path / "run"
    args = ["discover", "so2-invariant", "--epochs", "4", "--out", str(out), "--quiet"]
    assert main(args) == 0
    first = json.loads((out / "result.json").read_text())
    assert main(args[:3] + ["6"] + args[4:]) == 0  # same folder, more epochs: continues at epoch 4
    rows = [json.loads(line) for line in (out / "losses.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(first["epochs_run"])) + list(range(4, 6))


@pytest.mark.parametrize("args,fragment", [
    (["discover", "no-such-data"], "unknown dataset"),
    (["discover", "nbody2", "--method", "magic"], "unknown method"),
    (["discover", "nbody2", "--device", "tpu"], "unknown device"),
    (["discover", "nbody2", "--law", "cauchy"], "law (--law) must be one of normal"),
    (["discover", "nbody2", "--epochs", "many"], "invalid int value"),
    (["discover", "nbody2", "-D", "k"], "KEY=VALUE"),
    (["discover", "missing.npz"], "missing.npz"),
    (["frobnicate"], "invalid choice"),
    (["report", "nowhere"], "no result.json"),
])
def test_bad_input_is_one_line_and_exit_2(args, fragment, tmp_path):
    proc = run_cli(*[a if a != "missing.npz" else str(tmp_path / a) for a in args])
    assert_one_line_error(proc, fragment)


def test_bad_user_files_leave_no_output_folder(tmp_path):
    cases = {
        "nan.npz": dict(x=np.array([[0.0, np.nan], [1.0, 2.0]])),
        "mismatch.npz": dict(x=np.zeros((5, 2)), y=np.zeros(4)),
        "empty.npz": dict(x=np.zeros((0, 2))),
        "nokey.npz": dict(states=np.zeros((5, 2))),
        "inf.npz": dict(x=np.array([[0.0, np.inf], [1.0, 2.0]]), y=np.zeros(2)),
        "ragged.npz": dict(x=np.array([np.zeros(2), np.zeros(3)], dtype=object)),
        "toomanydims.npz": dict(x=np.zeros((4, 2, 2, 2, 2, 2)), y=np.zeros(4)),
    }
    for name, arrays in cases.items():
        path = tmp_path / name
        np.savez(path, **arrays)
        out = tmp_path / f"out-{name}"
        proc = run_cli("discover", str(path), "--out", str(out))
        assert_one_line_error(proc, name)
        assert not out.exists()
    csv = tmp_path / "text.csv"
    csv.write_text("a,b,y\n1,2,3\n4,x,6\n")
    assert_one_line_error(run_cli("discover", str(csv), "--out", str(tmp_path / "o")), "not numeric")
    unlabelled = tmp_path / "unlabelled.npz"
    np.savez(unlabelled, x=np.random.default_rng(0).normal(size=(64, 2)))
    assert_one_line_error(run_cli("discover", str(unlabelled), "--out", str(tmp_path / "o")), "--y-key none")


def test_a_folder_of_another_dataset_is_not_resumed(tmp_path):
    out = tmp_path / "run"
    assert main(["discover", "so2-invariant", "--epochs", "3", "--out", str(out), "--quiet"]) == 0
    assert main(["discover", "so2-equivariant", "--epochs", "3", "--out", str(out), "--quiet"]) == 0
    record = json.loads((out / "result.json").read_text())
    assert record["dataset"] == "so2-equivariant" and record["epochs_run"] == 3
    rows = [json.loads(line) for line in (out / "losses.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows][-3:] == [0, 1, 2]


def test_bench_writes_a_table_of_methods(tmp_path, capsys):
    from symdisco.bench import run_bench
    from symdisco.lie.sampling import NormalLaw

    cases = [("so2-equivariant", {"n_train": 256}, "liegan", {"epochs": (2, 2)}),
             ("so2-equivariant", {"n_train": 256}, "symmetrygan", {"epochs": (2, 2)}),
             ("so2-equivariant", {"n_train": 256}, "no-such-method", {}),
             ("so2-equivariant", {"n_train": 256}, "liegan", {"epochs": (1, 1), "law": NormalLaw(scale=0.2)})]
    rows = run_bench(tmp_path, quick=True, cases=cases)
    assert [r["method"] for r in rows] == ["liegan", "symmetrygan", "no-such-method", "liegan"]
    assert 0 <= rows[0]["similarity"] <= 1 and "error" in rows[2]
    record = json.loads((tmp_path / "bench.json").read_text())
    assert record["quick"] and len(record["rows"]) == 4
    assert record["rows"][3]["options"]["law"]["law"] == "normal"   # a law object is written by describe()
    assert "| so2-equivariant | symmetrygan |" in (tmp_path / "bench.md").read_text()
