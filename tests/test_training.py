"""Training infrastructure: seeds, devices, loss logs and checkpoints that a run resumes from."""
import pytest
import torch

from symdisco.errors import UserInputError
from symdisco.training import Checkpointer, LossLog, make_generator, resolve_device


def test_generators_are_repeatable_per_key_and_leave_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a = torch.randn(3, generator=make_generator(5, 1, 2))
    assert torch.equal(a, torch.randn(3, generator=make_generator(5, 1, 2)))
    assert not torch.equal(a, torch.randn(3, generator=make_generator(5, 1, 3)))
    assert torch.equal(state, torch.random.get_rng_state())


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(UserInputError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserInputError, match="CUDA is not available"):
            resolve_device("cuda")


def test_loss_log_appends_and_a_resumed_run_overwrites_later_epochs(tmp_path):
    log = LossLog(tmp_path / "losses.jsonl")
    for epoch in range(3):
        log.write(epoch, loss=float(epoch))
    resumed = LossLog(tmp_path / "losses.jsonl")
    resumed.write(1, loss=10.0)
    assert [r["loss"] for r in LossLog(tmp_path / "losses.jsonl").rows] == [0.0, 10.0]


def test_checkpoint_round_trip_is_atomic(tmp_path):
    model = torch.nn.Linear(2, 2)
    checkpoints = Checkpointer(tmp_path, every=2)
    assert checkpoints.load() is None
    assert not checkpoints.due(0) and checkpoints.due(1)
    checkpoints.save(1, model=model.state_dict())
    epoch, states = checkpoints.load()
    clone = torch.nn.Linear(2, 2)
    clone.load_state_dict(states["model"])
    assert epoch == 1 and torch.equal(clone.weight, model.weight)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp files left


def test_checkpoint_with_another_fingerprint_is_set_aside_not_resumed(tmp_path, capsys):
    Checkpointer(tmp_path, fingerprint={"dataset": "a"}).save(0, model={})
    assert Checkpointer(tmp_path, fingerprint={"dataset": "b"}).load() is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dataset changed" in err and "starting afresh" in err
    assert Checkpointer(tmp_path, fingerprint={"dataset": "a"}).load() is None  # it was kept aside
    assert [p.name.split("-")[0] for p in tmp_path.iterdir()] == ["checkpoint.pt.stale"]


def test_atomic_writes_get_ordinary_permissions(tmp_path):
    import os

    from symdisco.io_utils import atomic_write_json

    atomic_write_json(tmp_path / "r.json", {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o666 & ~umask
