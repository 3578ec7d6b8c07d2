"""L-conv: the layer, its equivariance with the true generator, and the discovery experiments."""
import numpy as np
import pytest
import torch

from symdisco.lie.known import rotation_field_generator, shannon_whittaker_generator
from symdisco.models.lconv import LConv, LConvNet, NodeGenerators, count_parameters, grid_neighbours


def band_limited(d, shift=0.0, seed=0, n_signals=3, max_frequency=None):
    """Sums of sinusoids sampled on d nodes, translated by `shift` pixels analytically."""
    rng = np.random.default_rng(seed)
    max_frequency = max_frequency or (d - 1) // 2
    x = np.arange(d)
    out = []
    for _ in range(n_signals):
        p = rng.integers(1, max_frequency + 1, size=4)
        a, phase = rng.normal(size=4), rng.uniform(0, 2 * np.pi, size=4)
        out.append(sum(ai * np.cos(2 * np.pi * pi * (x - shift) / d + ph) for ai, pi, ph in zip(a, p, phase)))
    return torch.tensor(np.array(out))


def equivariance_error(module, g, f):
    """|| Q[g f] - g Q[f] || / || Q[f] ||, g acting on the node axis of (B, C, d) maps."""
    out = module(f)
    moved = module(torch.einsum("de,bce->bcd", g, f))
    return ((moved - torch.einsum("de,bce->bcd", g, out)).norm() / out.norm()).item()


def test_shannon_whittaker_generates_shifts():
    d = 15
    L = torch.tensor(shannon_whittaker_generator(d))
    assert torch.allclose(L, -L.T)
    shift = torch.linalg.matrix_exp(L)            # one pixel = a cyclic roll
    assert torch.allclose(shift, torch.roll(torch.eye(d, dtype=L.dtype), 1, 0), atol=1e-10)
    f, moved = band_limited(d), band_limited(d, shift=0.37)
    assert torch.allclose(f @ torch.linalg.matrix_exp(0.37 * L).T, moved, atol=1e-10)


@pytest.mark.parametrize("structure", ["dense", "low_rank", "sparse"])
def test_layer_matches_formula_and_shapes(structure):
    torch.manual_seed(0)
    d, kw = 12, {}
    if structure == "sparse":
        kw["pattern"] = grid_neighbours(d, 0, radius=2, periodic=True)
    layer = LConv(d, 3, 5, n_generators=2, structure=structure, rank=4, **kw)
    f = torch.randn(4, 3, d)
    L = layer.generators.matrices()
    assert L.shape == (2, d, d)
    expected = torch.einsum("bcd,co->bod", f + torch.einsum("kde,bce,kcf->bfd", L, f, layer.eps),
                            layer.W0) + layer.bias[:, None]
    assert torch.allclose(layer(f), expected, atol=1e-5)
    if structure == "sparse":
        assert (L[:, 0, 6] == 0).all() and L.count_nonzero() <= 2 * 5 * d
    if structure == "low_rank":
        assert torch.linalg.matrix_rank(L[0]) <= 4


def test_layer_rejects_wrong_shape():
    with pytest.raises(ValueError, match="batch, 3 channels, 12 nodes"):
        LConv(12, 3)(torch.randn(2, 12, 3))


def test_true_generator_layer_is_equivariant_to_small_shifts():
    """With L the translation generator, Q[g f] = g Q[f] for the real sub-pixel shift g
    (error O(eps^2), here zero up to rounding); a random L is off at first order."""
    torch.manual_seed(1)
    d = 15
    L = torch.tensor(shannon_whittaker_generator(d))
    true = LConv(d, 2, 3, generators=L[None]).double()
    torch.manual_seed(1)
    random = LConv(d, 2, 3, n_generators=1).double()
    f = band_limited(d, n_signals=2, seed=3)[None]        # (1, 2 channels, d)
    for eps in (0.2, 0.1, 0.05):
        g = torch.linalg.matrix_exp(eps * L)
        # g really is the translation: it moves the analytic signal by eps pixels
        assert torch.allclose(f @ g.T, band_limited(d, shift=eps, n_signals=2, seed=3)[None], atol=1e-10)
        assert equivariance_error(true, g, f) <= 1e-3 * eps**2
        assert equivariance_error(random, g, f) > 0.02 * eps


def test_true_generator_network_is_equivariant_to_integer_shifts():
    torch.manual_seed(2)
    d = 16
    L = torch.tensor(shannon_whittaker_generator(d))
    net = LConvNet(d, 1, 4, n_layers=3, generators=NodeGenerators(d, init=L[None], learnable=False),
                   readout="none", activation="tanh").double()
    f = torch.randn(3, 1, d, dtype=torch.float64)
    shift = torch.roll(torch.eye(d, dtype=torch.float64), 3, 0)
    assert equivariance_error(net, shift, f) < 1e-10
    pooled = LConvNet(d, 1, 4, out_features=2, generators=L[None], readout="mean").double()
    assert torch.allclose(pooled(f), pooled(torch.roll(f, 3, 2)), atol=1e-10)


def test_rotation_field_layer_nearly_commutes_with_rotations():
    """On a smooth image the layer built from x d_y - y d_x commutes with small rotations far
    better than one with a random L."""
    h = 21
    R = torch.tensor(rotation_field_generator(h))
    rows, cols = np.meshgrid(np.arange(h) - 10, np.arange(h) - 10, indexing="ij")
    blob = np.exp(-((cols - 3) ** 2 + (rows + 2) ** 2) / 12.5) + 0.5 * np.exp(-((cols + 2) ** 2 + (rows - 3) ** 2) / 8)
    f = torch.tensor(blob).reshape(1, 1, -1)
    torch.manual_seed(0)
    true = LConv(h * h, 1, 3, generators=R[None]).double()
    random = LConv(h * h, 1, 3, n_generators=1).double()
    g = torch.linalg.matrix_exp(0.1 * R)
    assert equivariance_error(true, g, f) < 0.1 * equivariance_error(random, g, f)


@pytest.mark.parametrize("structure", ["dense", "low_rank", "sparse"])
def test_gradient_flows_to_generators(structure):
    torch.manual_seed(0)
    d = 10
    kw = {"pattern": grid_neighbours(d, 0, periodic=True)} if structure == "sparse" else {}
    net = LConvNet(d, 1, 4, out_features=3, n_layers=2, n_generators=2, structure=structure, rank=3, **kw)
    (gens,) = net.node_generators()
    loss = torch.nn.functional.cross_entropy(net(torch.randn(8, d)), torch.randint(0, 3, (8,)))
    loss.backward()
    grads = [p.grad for p in gens.parameters()]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)


def test_fixed_generators_are_not_trained():
    d = 8
    layer = LConv(d, 2, generators=np.eye(d)[None])
    assert all(p is not layer.generators.weight for p in layer.parameters())
    assert count_parameters(layer) == 2 * 2 + 2 * 2 + 2


def test_unshared_layers_have_their_own_generators():
    net = LConvNet(8, 1, 2, n_layers=3, share_generators=False)
    assert len(net.node_generators()) == 3
    assert len(LConvNet(8, 1, 2, n_layers=3).node_generators()) == 1


def test_low_rank_init_from_matrix_is_best_approximation():
    d = 9
    L = shannon_whittaker_generator(d)
    gens = NodeGenerators(d, init=L, structure="low_rank", rank=d, learnable=False)
    assert np.allclose(gens.matrices().numpy(), L, atol=1e-5)


# -- the discovery experiments (fixed seeds) -------------------------------------------------

def _quiet_threads():
    torch.set_num_threads(1)


@pytest.mark.slow
def test_learns_shannon_whittaker_generator_from_translated_signals(tmp_path):
    import symdisco.datasets as datasets
    from symdisco.methods.lconv import LConvMethod

    _quiet_threads()
    result = LConvMethod(seed=0).fit(datasets.load("translation-1d"), out=tmp_path, progress=False)
    assert result.extras["cosine_to_truth"][0] >= 0.9
    finite = result.extras["finite_transformation"]
    assert finite["z"] == 2.0
    assert finite["power_errors"]["64"] < 0.1          # (I + 2 L / 64)^64 ~ shift by 2 pixels
    assert finite["power_errors"]["64"] < finite["power_errors"]["4"]
    assert (tmp_path / "shift_approximation.png").is_file()


@pytest.mark.slow
def test_learns_rotation_field_from_rotated_images():
    import symdisco.datasets as datasets
    from symdisco.methods.lconv import LConvMethod

    _quiet_threads()
    result = LConvMethod(seed=0).fit(datasets.load("rotation-2d", n_train=600), progress=False)
    assert result.extras["cosine_to_truth"][0] >= 0.9


@pytest.mark.slow
def test_scrambling_hurts_the_cnn_not_lconv():
    import symdisco.datasets as datasets
    from symdisco.experiments.digits import digits_comparison

    _quiet_threads()
    rows = digits_comparison(datasets.load("rotated-digits"), seed=0)["models"]
    drop = {name: row["accuracy"] - row["accuracy_scrambled"] for name, row in rows.items()}
    assert abs(drop["L-conv"]) <= 0.03
    assert drop["CNN"] >= drop["L-conv"] + 0.03
    assert rows["L-conv"]["accuracy"] >= 0.8
    assert all(row["parameters"] > 0 for row in rows.values())


@pytest.mark.slow
def test_cli_discover_lconv(tmp_path):
    import json

    from symdisco.cli import main

    _quiet_threads()
    out = tmp_path / "run"
    assert main(["discover", "translation-1d", "--method", "lconv", "--epochs", "20", "--quiet",
                 "--out", str(out), "-D", "nodes=15"]) == 0
    saved = json.loads((out / "result.json").read_text())
    assert saved["method"] == "lconv" and saved["similarity"] > 0.8
    assert len(saved["generators"][0]) == 15 and saved["cosine_to_truth"][0] > 0.9


def test_layer_takes_a_lie_algebra_or_result():
    from symdisco.lie.algebra import LieAlgebra
    from symdisco.result import SymmetryResult

    L = shannon_whittaker_generator(9)
    algebra = LieAlgebra(L[None])
    for given in (algebra, SymmetryResult(algebra, "lconv", "translation-1d")):
        layer = LConv(9, 2, generators=given)
        assert np.allclose(layer.generators.matrices().numpy(), L[None], atol=1e-6)


@pytest.mark.parametrize("structure", ["low_rank", "sparse"])
def test_method_runs_with_large_d_structures(structure):
    import symdisco.datasets as datasets
    from symdisco.methods.lconv import LConvMethod

    data = datasets.load("rotation-2d", size=9, n_train=200, n_test=20)
    result = LConvMethod(structure=structure, rank=8, epochs=2, seed=0).fit(data, progress=False)
    assert result.generators.shape == (1, 81, 81)
    if structure == "sparse":  # only grid neighbours within 2 pixels
        assert result.generators[0, 0, 80] == 0
