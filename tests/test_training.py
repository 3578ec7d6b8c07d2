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


def _fit(x, y, seed, **options):
    from symdisco.methods import derivatives as dv

    loss = torch.nn.functional.mse_loss
    if y is None:
        score = dv.DenoisingScore(0.1)
        loss, options["augment"] = score.loss, score.augment
    return dv.fit_network(lambda rng: dv.small_mlp(x.shape[1], x.shape[1] if y is None else y.shape[1], hidden=32),
                          loss, x, y, steps=150, batch_size=256, seed=seed, **options)


def test_closed_form_network_fits_run_on_the_engine_in_process_and_write_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = torch.randn(600, 3, generator=torch.Generator().manual_seed(0))
    y = (x ** 2).sum(1, keepdim=True)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    model, losses = _fit(x, y, seed=1)
    assert torch.equal(state, torch.random.get_rng_state())        # no global reseeding
    assert list(tmp_path.iterdir()) == []                           # no checkpoint, lock or log
    assert len(losses) == 50 and losses[-1] < 0.05 * losses[0]      # 150 steps = 50 epochs of 3 batches
    with torch.no_grad():
        assert not model.training and float(torch.nn.functional.mse_loss(model(x), y)) < 0.05 * float(y.var())
    again, _ = _fit(x, y, seed=1)
    other, _ = _fit(x, y, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))
    assert not torch.equal(next(model.parameters()), next(other.parameters()))


def test_score_network_without_targets_learns_the_gaussian_score():
    scales = torch.tensor([0.5, 1.0, 2.0])
    x = torch.randn(2000, 3, generator=torch.Generator().manual_seed(0)) * scales
    model, _ = _fit(x, None, seed=0)
    with torch.no_grad():
        fitted, truth = model(x), -x / scales ** 2                  # grad log N(0, diag(scales^2))
    assert float(torch.nn.functional.cosine_similarity(fitted.flatten(), truth.flatten(), dim=0)) > 0.95
