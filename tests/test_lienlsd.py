"""LieNLSD: point symmetries of PDEs and ODEs recovered from data as explicit vector fields."""
import json

import numpy as np
import pytest

import symdisco.datasets as datasets
from symdisco.errors import UserInputError
from symdisco.methods import get
from symdisco.methods.lienlsd import LieNLSD

SMALL = dict(trajectories=6, test_trajectories=1, steps=21)

EXPECTED = {
    "heat": ["d/dt", "d/dx", "u d/du", "2 t d/dx - x u d/du", "2 t d/dt + x d/dx"],
    "burgers": ["d/dt", "d/dx", "t d/dx + d/du", "2 t d/dt + x d/dx - u d/du",
                "t^2 d/dt + t x d/dx + (x - t u) d/du"],
    "kdv": ["d/dt", "d/dx", "t d/dx + d/du", "3 t d/dt + x d/dx - 2 u d/du"],
}


@pytest.mark.parametrize("name", ["heat", "burgers", "kdv"])
def test_pde_symmetries_read_like_the_textbook(name):
    result = LieNLSD(samples=2000).fit(datasets.load(name, seed=3, **SMALL), progress=False)
    extras = result.extras
    assert sorted(f["text"] for f in extras["vector_fields"]) == sorted(EXPECTED[name])
    assert extras["dimension"] == len(EXPECTED[name])
    assert extras["grassmann_distance"] < 0.05
    assert result.similarity > 0.99                       # the affine parts, as generators
    if name == "heat":                                    # u -> u + a(t, x): split off
        assert sorted(f["text"] for f in extras["superposition"]) == ["(2 t + x^2) d/du", "d/du", "x d/du"]
        assert extras["null_dimension"] == 8
    else:
        assert extras["superposition"] == []


@pytest.mark.parametrize("name", ["heat", "burgers"])
def test_recovery_on_noisy_data(name):
    data = datasets.load(name, noise=1e-4, seed=5, **SMALL)
    result = LieNLSD(samples=2000, seed=1).fit(data, progress=False)
    assert result.extras["dimension"] == len(EXPECTED[name])
    assert result.extras["grassmann_distance"] < 0.05


def test_wave_conformal_symmetries():
    result = LieNLSD(samples=2000).fit(datasets.load("wave", **SMALL), progress=False)
    texts = {f["text"] for f in result.extras["vector_fields"]}
    assert result.extras["dimension"] == 7 and result.extras["grassmann_distance"] < 0.05
    assert {"x d/dt + t d/dx", "(t^2 + x^2) d/dt + 2 t x d/dx"} <= texts


@pytest.mark.parametrize("name, data_options, options, expected", [
    ("pendulum", dict(lift="none", trajectories=12, steps=60), dict(trig="q"),
     {"d/dt", "(2 cos(q) - p^2) d/dt", "p d/dq - sin(q) d/dp"}),
    ("lambda-omega", dict(trajectories=12, steps=60), dict(degree=3, feature_degree=3),
     {"d/dt", "v d/du - u d/dv"}),
    ("lotka-volterra", dict(lift="none", trajectories=12, steps=60),
     dict(degree=1, feature_degree=1, exp="q,p"), {"d/dt"}),
])
def test_ode_symmetries(name, data_options, options, expected):
    result = LieNLSD(samples=1000, **options).fit(datasets.load(name, **data_options), progress=False)
    texts = {f["text"] for f in result.extras["vector_fields"]}
    assert result.extras["dimension"] == 3 and expected <= texts
    assert result.extras["grassmann_distance"] < 0.05


def test_result_json_and_errors(tmp_path):
    data = datasets.load("kdv", seed=1, **SMALL)
    result = get("lienlsd")(samples=1000).fit(data, progress=False)
    result.save(tmp_path)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["method"] == "lienlsd" and len(record["vector_fields"]) == 4
    field = record["vector_fields"][-1]
    assert set(field) == {"text", "coefficients"} and all(isinstance(v, float) for v in field["coefficients"].values())
    assert np.array(record["generators"]).shape == (4, 4, 4)      # affine parts on (t, x, u, 1)
    assert record["singular_values"][0] == 1.0 and len(record["singular_values"]) == 30
    from symdisco.report import write_report

    assert "- `3 t d/dt + x d/dx - 2 u d/du`" in write_report(tmp_path)
    with pytest.raises(UserInputError, match="lift"):
        LieNLSD().fit(datasets.load("pendulum", trajectories=3, steps=10, image_size=4, test_trajectories=1), progress=False)
    with pytest.raises(UserInputError, match="trajectory data"):
        LieNLSD().fit(datasets.load("nbody2"), progress=False)
    with pytest.raises(UserInputError, match="degree"):
        LieNLSD(degree=0)


def test_cli_prints_the_equation_and_the_vector_fields(tmp_path, capsys):
    from symdisco.cli import main

    assert main(["discover", "burgers", "--method", "lienlsd", "--quiet", "--out", str(tmp_path / "run"),
                 "-D", "trajectories=4", "-D", "seed=2"]) == 0
    printed = capsys.readouterr().out
    assert "u_t = " in printed and "vector fields:" in printed
    assert "2 t d/dt + x d/dx - u d/du" in printed  # Burgers' scaling, as the textbook writes it
