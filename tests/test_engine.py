"""The one training engine: resume semantics for every method, corrupt and stale files,
the folder lock, loggers, and several processes (DDP on CPU with gloo; CUDA when present)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runner import run_cli

from symdisco import datasets
from symdisco.datasets.base import SymmetryDataset
from symdisco.errors import UserInputError
from symdisco.training import Engine, Hardware, LossLog, TrainingTask, locked
from symdisco.training import engine as engine_module

ROOT = Path(__file__).resolve().parents[1]


class Crash(Exception):
    """What a kill does to a run, as an exception: raised at one step, mid-epoch."""


@pytest.fixture
def crash_at(monkeypatch):
    """crash_at(epoch, step): the next engine fit to reach that step of that epoch dies there."""
    def arm(epoch, step):
        original = Engine._shard

        def shard(order, i, batch_size, run):
            if run.epoch == epoch and i == step:
                monkeypatch.setattr(Engine, "_shard", staticmethod(original))  # once
                raise Crash(f"killed at epoch {epoch}, step {step}")
            return original(order, i, batch_size, run)

        monkeypatch.setattr(Engine, "_shard", staticmethod(shard))
    return arm


def _subset(data: SymmetryDataset, n: int) -> SymmetryDataset:
    return SymmetryDataset(name=data.name, x=data.x[:n], y=None if data.y is None else data.y[:n],
                           x_test=data.x_test[:n], y_test=None if data.y_test is None else data.y_test[:n],
                           task=data.task, action=data.action, action_options=data.action_options,
                           ground_truth=data.ground_truth, metadata=data.metadata)


def _rotation_dynamics() -> SymmetryDataset:
    t = 0.1 * np.arange(200)
    state = np.stack([np.cos(t), np.sin(t)], 1)
    lift = np.random.default_rng(0).normal(size=(2, 6))
    x = np.tanh(state @ lift)
    dx = (1 - x ** 2) * (np.stack([-state[:, 1], state[:, 0]], 1) @ lift)
    return SymmetryDataset(name="tiny-rotation", x=x[:160], y=dx[:160], x_test=x[160:], y_test=dx[160:],
                           task="dynamics", action="vector", metadata={"dt": 0.1})


def _method(name, epochs):
    from symdisco import methods

    tiny = {
        "liegan": dict(batch_size=128, early_stopping=False),
        "symmetrygan": dict(batch_size=128, early_stopping=False),
        "augerino": dict(batch_size=64, hidden=16),
        "latent": dict(latent_dim=2, pretrain_epochs=1, batch_size=32, hidden=16, compare=False, plots=False),
        "lconv": dict(batch_size=64),
        "augmenter": dict(hidden=16, batch_size=64, baselines=False, compare_liegan=False, warmup_epochs=1),
    }[name]
    return methods.get(name)(epochs=epochs, seed=3, **tiny)


def _data(name):
    if name in ("liegan", "symmetrygan"):
        return _subset(datasets.load("nbody2"), 512)
    if name in ("augerino", "augmenter"):
        return datasets.load("so2-equivariant", n_train=256, n_test=64)
    if name == "lconv":
        return datasets.load("translation-1d", nodes=15, n_train=256, n_test=32)
    return _rotation_dynamics()


@pytest.mark.parametrize("name", ["liegan", "symmetrygan", "augerino", "latent", "lconv", "augmenter"])
def test_more_epochs_and_a_killed_run_continue_as_if_never_stopped(name, tmp_path, crash_at):
    """N epochs, then 2N on the same folder, killed mid-epoch and started again: the same
    generators as one uninterrupted 2N-epoch run."""
    torch.set_num_threads(1)
    data = _data(name)
    whole = _method(name, 4).fit(data, progress=False)
    half = _method(name, 2).fit(data, out=tmp_path, progress=False)
    assert not np.allclose(half.generators, whole.generators)
    crash_at(epoch=3, step=1)
    with pytest.raises(Crash):
        _method(name, 4).fit(data, out=tmp_path, progress=False)
    resumed = _method(name, 4).fit(data, out=tmp_path, progress=False)
    np.testing.assert_allclose(resumed.generators, whole.generators, rtol=1e-5, atol=1e-6)
    losses = tmp_path / ("latent_losses.jsonl" if name == "latent" else "losses.jsonl")
    assert [r["epoch"] for r in LossLog(losses).rows] == [0, 1, 2, 3]


def test_a_downstream_model_resumes_and_continues(tmp_path, crash_at):
    from symdisco.experiments.downstream import fit
    from symdisco.models.baselines import MLP

    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(300, 4, generator=gen)
    y = x @ torch.randn(4, 2, generator=gen)

    def train(epochs, out=None):
        model, _ = fit(lambda rng: MLP(4, 2, 16, 2), x, y, torch.nn.functional.mse_loss, epochs=epochs,
                       batch_size=32, lr=1e-2, seed=1, progress=False, out=out, desc="MLP seed 1")
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    whole = train(4)
    train(2, tmp_path)
    crash_at(epoch=3, step=2)
    with pytest.raises(Crash):
        train(4, tmp_path)
    torch.testing.assert_close(train(4, tmp_path), whole)


# -- the engine's own semantics, on a task small enough to reason about --------------------------------

class _Regression(TrainingTask):
    """Linear regression with early stopping on the weights, for engine-level checks."""

    def __init__(self, x, y, patience=3, lr=0.05):
        self.x, self.y, self.patience, self.lr = x, y, patience, lr

    def configure(self, rng):
        from symdisco.training import EarlyStopping

        model = torch.nn.Linear(self.x.shape[1], 1)
        self.early_stopping = EarlyStopping(lambda: model.weight, lambda a, b: 1 - (a - b).norm() / a.norm(),
                                            every=5, patience=self.patience, tolerance=1e-4)
        return {"model": model}, {"sgd": torch.optim.SGD(model.parameters(), lr=self.lr)}

    def training_step(self, batch, run):
        loss = torch.nn.functional.mse_loss(run.modules["model"](self.x[batch]), self.y[batch])
        if not torch.isfinite(loss):
            return {"loss": float("nan")}
        run.zero_grad()
        run.backward(loss)
        run.step("sgd")
        return {"loss": loss.item(), "odd": float("nan")}


def _regression_data():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(200, 3, generator=gen)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3


def _fit(out, epochs=40, **kw):
    x, y = _regression_data()
    return Engine(out=out, progress=False).fit(_Regression(x, y, **kw), n_samples=200, batch_size=20,
                                               epochs=epochs, seed=0, fingerprint={"knobs": kw})


def test_early_stopping_state_epochs_run_and_seconds_survive_a_restart(tmp_path, crash_at):
    whole = _fit(None)
    assert whole.stopped_early and whole.epochs_run < 40
    stop_epoch = whole.epochs_run - 1
    crash_at(epoch=stop_epoch, step=1)  # killed in the epoch where it will stop
    with pytest.raises(Crash):
        _fit(tmp_path)
    resumed = _fit(tmp_path)
    assert (resumed.step_count, resumed.epochs_run, resumed.stopped_early) == \
        (whole.step_count, whole.epochs_run, True)
    torch.testing.assert_close(resumed.modules["model"].weight, whole.modules["model"].weight)
    again = _fit(tmp_path, epochs=80)  # a finished, early-stopped run stays finished
    assert (again.step_count, again.epochs_run) == (whole.step_count, whole.epochs_run)
    # the crashed session's training time is carried into the resumed one, and on
    assert resumed.seconds > resumed.previous_seconds > 0
    assert again.previous_seconds > resumed.previous_seconds


def test_non_finite_losses_are_null_in_the_log(tmp_path):
    _fit(tmp_path, epochs=2)
    lines = (tmp_path / "losses.jsonl").read_text().splitlines()
    assert all(json.loads(line)["odd"] is None for line in lines) and "NaN" not in "".join(lines)


@pytest.mark.parametrize("damage", [b"", b"garbage\x00\x01", "truncate"])
def test_a_corrupt_checkpoint_is_kept_aside_and_the_run_starts_afresh(tmp_path, capsys, damage):
    fresh = _fit(None, epochs=3)
    _fit(tmp_path, epochs=3)
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:200] if damage == "truncate" else damage)
    capsys.readouterr()
    again = _fit(tmp_path, epochs=3)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unreadable" in err and "starting afresh" in err
    assert not again.resumed
    torch.testing.assert_close(again.modules["model"].weight, fresh.modules["model"].weight)
    names = sorted(p.name.split("-")[0] for p in tmp_path.iterdir())
    assert "checkpoint.pt.corrupt" in names and "losses.jsonl.corrupt" in names


def test_a_torn_log_line_is_dropped_with_one_line(tmp_path, capsys):
    _fit(tmp_path, epochs=3)
    log = tmp_path / "losses.jsonl"
    with log.open("a") as handle:
        handle.write('{"epoch": 3, "loss": 0.1')  # what a kill mid-write leaves
    capsys.readouterr()
    rows = LossLog(log).rows
    err = capsys.readouterr().err
    assert [r["epoch"] for r in rows] == [0, 1, 2] and err.count("\n") == 1 and "unreadable" in err
    assert [json.loads(line)["epoch"] for line in log.read_text().splitlines()] == [0, 1, 2]


def test_changed_options_start_afresh_and_say_so(tmp_path, capsys):
    _fit(tmp_path, epochs=2, lr=0.05)
    capsys.readouterr()
    run = _fit(tmp_path, epochs=2, lr=0.01)
    err = capsys.readouterr().err
    assert not run.resumed and err.count("\n") == 1 and "lr changed" in err and "starting afresh" in err
    assert any(p.name.startswith("checkpoint.pt.stale-") for p in tmp_path.iterdir())


def test_the_data_hash_is_part_of_the_fingerprint(tmp_path, capsys):
    from symdisco.methods import get

    data = _subset(datasets.load("nbody2"), 256)
    get("liegan")(epochs=1, batch_size=128).fit(data, out=tmp_path, progress=False)
    data.x = data.x * 1.01  # same name and shape, new contents
    capsys.readouterr()
    get("liegan")(epochs=1, batch_size=128).fit(data, out=tmp_path, progress=False)
    assert "data changed" in capsys.readouterr().err


def test_a_second_run_on_one_folder_is_refused_naming_the_first(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from symdisco.training import locked\n"
                               "with locked(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)",
                               str(tmp_path)], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserInputError, match=rf"in use by another symdisco run \(pid {holder.pid}\)"):
            with locked(tmp_path):
                pass
        done = run_cli("discover", "so2-equivariant", "--epochs", "1", "--out", tmp_path, "--quiet")
        assert done.returncode == 2 and f"pid {holder.pid}" in done.stderr and done.stderr.count("\n") == 1
        assert not (tmp_path / "result.json").exists()
    finally:
        holder.kill()
        holder.wait()
    with locked(tmp_path):  # the kernel dropped the dead holder's lock
        pass


def test_restart_flag_and_csv_logger(tmp_path):
    out = tmp_path / "run"
    first = run_cli("discover", "so2-equivariant", "-D", "n_train=256", "--epochs", "1", "--out", out,
                    "--quiet", "--logger", "csv")
    assert first.returncode == 0, first.stderr
    assert list((out / "logs").rglob("metrics.csv"))
    again = run_cli("discover", "so2-equivariant", "-D", "n_train=256", "--epochs", "1", "--out", out,
                    "--quiet", "--restart")
    assert again.returncode == 0, again.stderr
    assert any(p.name.startswith("checkpoint.pt.old-") for p in out.iterdir())


def test_bad_device_flags_are_one_line_errors(tmp_path):
    for flags, message in [(["--devices", "0"], "--devices"), (["--strategy", "bogus"], "--strategy"),
                           (["--precision", "7"], "--precision"), (["--num-nodes", "0"], "--num-nodes")]:
        done = run_cli("discover", "so2-equivariant", "--out", tmp_path / "x", *flags)
        assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        done = run_cli("discover", "so2-equivariant", "--out", tmp_path / "x", "--logger", "tensorboard")
        assert done.returncode == 2 and "pip install tensorboard" in done.stderr
    assert not (tmp_path / "x").exists()


def test_device_shorthand_and_torchrun_defaults(monkeypatch):
    assert Hardware.from_device("cpu").accelerator == "cpu"
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setenv("WORLD_SIZE", "4")
    hardware = Hardware.from_device("cpu")
    assert (hardware.devices, hardware.num_nodes, hardware.strategy) == (2, 2, "ddp")


# -- a real SIGKILL, and several processes -------------------------------------------------------------

def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "symdisco", *args], capture_output=True, text=True,
                          env=_env(), timeout=timeout)


@pytest.mark.slow
def test_sigkill_mid_epoch_then_the_same_command_equals_an_uninterrupted_run(tmp_path):
    args = ["discover", "nbody2", "--epochs", "3", "--batch-size", "64", "--quiet", "--seed", "1"]
    whole = _cli(*args, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "symdisco", *args, "--out", str(out)], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (out / "checkpoint.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # into the next epoch
    killed = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert killed and not (out / "result.json").exists()
    again = _cli(*args, "--out", str(out))
    assert again.returncode == 0, again.stderr
    np.testing.assert_allclose(np.load(out / "generators.npy"), np.load(tmp_path / "whole" / "generators.npy"),
                               rtol=1e-5, atol=1e-6)
    record = json.loads((out / "result.json").read_text())
    assert record["epochs_run"] == 3


def _similarity(out):
    return json.loads((Path(out) / "result.json").read_text())["similarity"]


DDP_RUNS = {
    "liegan": ["discover", "nbody2", "--epochs", "2", "--quiet", "--seed", "0"],
    "latent": ["discover", "lotka-volterra", "-D", "trajectories=6", "-D", "steps=100", "--method", "latent",
               "--epochs", "2", "--quiet", "--compare", "false"],
}


@pytest.fixture(scope="module")
def single_process_runs(tmp_path_factory):
    """The one-process reference of each DDP run, computed once for both launchers."""
    root = tmp_path_factory.mktemp("single")
    for name, args in DDP_RUNS.items():
        done = run_cli(*args, "--out", root / name)
        assert done.returncode == 0, done.stderr
    return root


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["fabric", "torchrun"])
def test_two_cpu_processes_match_one(tmp_path, launcher, single_process_runs):
    """DDP on CPU (gloo): LieGAN and the latent method with 2 processes, against 1."""
    for name, args in DDP_RUNS.items():
        out = tmp_path / name
        if launcher == "fabric":
            multi = _cli(*args, "--out", str(out), "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp")
        else:
            multi = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                                    "--master_port", str(29500 + os.getpid() % 1000), "-m", "symdisco", *args,
                                    "--out", str(out)], capture_output=True, text=True, env=_env(), timeout=300)
        assert multi.returncode == 0, multi.stderr[-2000:]
        one = json.loads((single_process_runs / name / "result.json").read_text())
        two = json.loads((out / "result.json").read_text())
        assert np.asarray(two["generators"]).shape == np.asarray(one["generators"]).shape
        if name == "liegan":
            assert two["similarity"] > 0.9 and abs(two["similarity"] - one["similarity"]) < 0.05
        else:
            ratio = two["reconstruction_relative_mse"] / one["reconstruction_relative_mse"]
            assert 0.5 < ratio < 2.0, (one["reconstruction_relative_mse"], two["reconstruction_relative_mse"])
        log = out / ("latent_losses.jsonl" if name == "latent" else "losses.jsonl")
        assert [json.loads(line)["epoch"] for line in log.read_text().splitlines()] == [0, 1]  # rank 0 only


@pytest.mark.slow
def test_liesd_networks_on_two_cpu_processes_match_one_and_write_no_checkpoint(tmp_path):
    """LieSD's derivative networks train through the engine: with 2 processes every global batch is
    split and the gradients averaged, so the spectrum is the one-process spectrum; nothing but the result."""
    args = ["discover", "so2-invariant", "--method", "liesd", "--derivatives", "mlp", "--quiet"]
    one = run_cli(*args, "--out", tmp_path / "one")
    two = _cli(*args, "--out", str(tmp_path / "two"), "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp")
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-2000:]
    records = [json.loads((tmp_path / name / "result.json").read_text()) for name in ("one", "two")]
    np.testing.assert_allclose(records[1]["singular_values"], records[0]["singular_values"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(records[1]["generators"], records[0]["generators"], rtol=1e-4, atol=1e-6)
    assert records[0]["similarity"] > 0.999
    assert not [p.name for p in (tmp_path / "two").iterdir() if "checkpoint" in p.name or p.suffix == ".jsonl"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_devices(tmp_path):
    """The same command on every visible GPU (DDP when there are several)."""
    n = torch.cuda.device_count()
    flags = ["--accelerator", "cuda", "--devices", str(n)] + (["--strategy", "ddp"] if n > 1 else [])
    done = _cli("discover", "nbody2", "--epochs", "2", "--quiet", "--out", str(tmp_path / "gpu"), *flags)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _similarity(tmp_path / "gpu") > 0.9


@pytest.mark.slow
def test_downstream_on_two_cpu_processes_writes_and_prints_its_table_once(tmp_path):
    """Every rank computes the same rows; rank 0 alone writes the tables and the discovery cache."""
    out = tmp_path / "down"
    done = _cli("downstream", "nbody2", "--out", str(out), "--epochs", "2", "-D", "discover=liesd", "-D", "n_train=3000",
                "--quiet", "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("# nbody2 one-step prediction") == 1
    rows = json.loads((out / "table.json").read_text())
    assert len(rows) == 4 and all(np.isfinite(row["value"]) for row in rows)
    assert (out / "discovery" / "result.json").is_file()
