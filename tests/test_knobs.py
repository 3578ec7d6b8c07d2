"""Every knob is checked where it is set, and every check runs before any training.

Constructors refuse bad values with the allowed range; parts (laws, discriminators) are
objects that survive a rebuild from `get_params()`; the command line answers bad flags,
bad data and unwritable --out folders with one line and exit 2, leaving nothing behind.
"""
from __future__ import annotations

import copy
import inspect
import os

import numpy as np
import pytest

from symdisco import cli, methods
from symdisco.errors import UserInputError
from symdisco.lie.sampling import IntegerGridLaw, NormalLaw, UniformLaw
from symdisco.methods.discriminators import FourierDiscriminator, MLPDiscriminator
from symdisco.methods.liegan import LieGAN


@pytest.mark.parametrize("knobs, fragment", [
    (dict(n_generators=-1), "n_generators must be an integer >= 1"),
    (dict(n_generators=2.5), "n_generators must be an integer"),
    (dict(law="bogus"), "law must be one of normal, uniform, integer"),
    (dict(discriminator="bogus"), "discriminator must be one of auto"),
    (dict(epochs=0), "epochs must be an integer >= 1"),
    (dict(batch_size=0), "batch_size must be an integer >= 1"),
    (dict(lr_generator=float("nan")), "lr_generator must be a finite number > 0"),
    (dict(orthogonality="bogus"), "orthogonality must be one of cosine, killing, none"),
    (dict(early_stopping="yes"), "early_stopping must be true or false"),
])
def test_liegan_refuses_bad_knobs_at_construction(knobs, fragment):
    with pytest.raises(UserInputError, match=fragment):
        LieGAN(**knobs)


@pytest.mark.parametrize("name", methods.names())
def test_every_method_checks_its_knobs_and_rebuilds_from_its_params(name):
    cls = methods.get(name)
    method = cls()
    rebuilt = cls(**copy.deepcopy(method.get_params()))
    assert rebuilt.describe_params() == method.describe_params()
    assert method.clone().describe_params() == method.describe_params()
    if "epochs" in method.get_params():
        with pytest.raises(UserInputError, match="epochs must be an integer >= 1"):
            cls(epochs=-3)
    with pytest.raises(UserInputError, match="must be"):
        method.set_params(seed="zero")


def test_laws_and_discriminators_are_objects_that_survive_clone():
    method = LieGAN(law=UniformLaw(half_width=0.5, learnable=True),
                    discriminator=MLPDiscriminator(hidden=32, layers=3))
    params = method.describe_params()
    assert params["law"] == {"law": "uniform", "half_width": 0.5, "learnable": True}
    assert params["discriminator"] == {"discriminator": "mlp", "hidden": 32, "layers": 3}
    clone = method.clone()
    assert clone.law is not method.law and clone.describe_params() == params
    # a recipe is sized at fit: the object the user holds is never trained
    law = method.law_recipe().sized(3)
    assert law.sample(5).shape == (5, 3) and method.law.k is None
    with pytest.raises(ValueError, match="half_width must be a finite number > 0"):
        UniformLaw(half_width=-1)
    with pytest.raises(ValueError, match="hidden must be a number > 0"):
        FourierDiscriminator(hidden=0)
    assert IntegerGridLaw(step=0.5).describe() == {"law": "integer_grid", "step": 0.5, "max_steps": 4}
    assert NormalLaw(scale=0.2).sized(2).scale.tolist() == pytest.approx([0.2, 0.2])


def test_too_many_generators_for_the_data_is_caught_before_training():
    import symdisco.datasets as datasets

    data = datasets.load("nbody2")
    with pytest.raises(UserInputError, match="between 1 and 4"):
        LieGAN(n_generators=5).check(data)


def run(argv, capsys):
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines()


@pytest.fixture(scope="module")
def nbody_file(tmp_path_factory):
    import symdisco.datasets as datasets

    data = datasets.load("nbody2")
    path = tmp_path_factory.mktemp("data") / "nbody2.npz"
    np.savez(path, x=data.x[:2000].numpy(), y=data.y[:2000].numpy())
    return path


@pytest.mark.parametrize("flags, fragment", [
    (["--generators", "0"], "n_generators (--generators) must be an integer >= 1"),
    (["--generators", "-1"], "n_generators (--generators) must be an integer >= 1"),
    (["--generators", "100"], "must be between 1 and 4"),
    (["--batch-size", "0"], "batch_size (--batch-size) must be an integer >= 1"),
    (["--law-scale", "-1"], "law scale (--law-scale) must be a finite number > 0"),
    (["--law", "uniform", "--law-scale", "nan"], "law scale (--law-scale) must be a finite number > 0"),
    (["--law-step", "0.5"], "--law-step does not apply to the normal law"),
    (["--law", "integer", "--max-steps", "0"], "max_steps (--max-steps) must be an integer >= 1"),
    (["--discriminator", "bogus"], "discriminator (--discriminator) must be one of"),
    (["--nontrivial", "bogus"], "nontrivial (--nontrivial) must be one of"),
    (["--orthogonality", "bogus"], "orthogonality (--orthogonality) must be one of"),
    (["--epochs", "0"], "epochs (--epochs) must be an integer >= 1"),
    (["--epochs", "-3"], "epochs (--epochs) must be an integer >= 1"),
])
def test_cli_bad_flags_are_one_line_before_anything_is_written(flags, fragment, nbody_file, tmp_path, capsys):
    out = tmp_path / "run"
    code, lines = run(["discover", str(nbody_file), "-D", "action=blocks", "-D", "block_dim=2", "--quiet",
                       "--out", str(out), *flags], capsys)
    assert code == 2 and len(lines) == 1 and fragment in lines[0], lines
    assert not out.exists()


def bad_file(folder, name, x):
    path = folder / name
    np.savez(path, x=x, y=np.ones((len(x), 8)))
    return path


@pytest.mark.parametrize("name, make_x, fragment", [
    ("zeros.npz", lambda rng: np.zeros((100, 8)), "zero in every sample"),
    ("rows.npz", lambda rng: rng.normal(size=(2, 8)), "needs at least 10"),
    ("huge.npz", lambda rng: np.where(rng.random((100, 8)) < 0.01, 1e39, 1.0), "beyond float32"),
    ("nan.npz", lambda rng: np.where(rng.random((100, 8)) < 0.01, np.nan, 1.0), "NaN/Inf"),
])
def test_cli_degenerate_data_are_one_line(name, make_x, fragment, tmp_path, capsys):
    x = make_x(np.random.default_rng(0))
    x[0, 0] = 1e39 if name == "huge.npz" else x[0, 0]
    path = bad_file(tmp_path, name, x)
    out = tmp_path / "run"
    code, lines = run(["discover", str(path), "-D", "action=blocks", "-D", "block_dim=2", "--quiet",
                       "--out", str(out)], capsys)
    assert code == 2 and len(lines) == 1 and fragment in lines[0], lines
    assert not out.exists()


@pytest.mark.parametrize("where, fragment", [
    ("under_file", "which is a file, not a folder"),
    ("long_name", "file systems allow 255"),
    ("read_only", "cannot write in"),
])
def test_cli_unwritable_out_is_caught_before_training(where, fragment, nbody_file, tmp_path, capsys):
    if where == "under_file":
        out = nbody_file.parent / "nbody2.npz" / "run"
    elif where == "long_name":
        out = tmp_path / ("a" * 300) / "run"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        out = locked / "run"
    try:
        code, lines = run(["discover", str(nbody_file), "-D", "action=blocks", "-D", "block_dim=2", "--quiet",
                           "--epochs", "1", "--out", str(out)], capsys)
    finally:
        if where == "read_only":
            (tmp_path / "locked").chmod(0o755)
    assert code == 2 and len(lines) == 1 and fragment in lines[0], lines


def test_cli_law_flags_build_a_law_object():
    args = cli.build_parser().parse_args(["discover", "nbody2", "--law", "uniform", "--law-scale", "0.5",
                                          "--learn-law"])
    kwargs = cli._method_kwargs(args, LieGAN)
    assert isinstance(kwargs["law"], UniformLaw)
    assert kwargs["law"].settings() == {"half_width": 0.5, "learnable": True}


def test_set_params_reaches_the_settings_of_parts():
    method = LieGAN(law="uniform", discriminator=MLPDiscriminator(hidden=32))
    method.set_params(law__half_width=0.3, discriminator__layers=4)
    assert method.law.settings() == {"half_width": 0.3, "learnable": False}
    assert method.discriminator.settings() == {"hidden": 32, "layers": 4}
    with pytest.raises(UserInputError, match="has no setting 'width'"):
        method.set_params(law__width=1.0)
    with pytest.raises(UserInputError, match="half_width must be a finite number > 0"):
        method.set_params(law__half_width=-1.0)
