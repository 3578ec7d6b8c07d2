"""Group elements, coefficient laws, parameterisations and actions: properties in float64."""
import math

import pytest
import torch

from symdisco.lie.actions import BlockAction, ImageAction, PointAction, TaskAction, VectorAction, get_action
from symdisco.lie.generators import AffineGenerators, BlockGenerators, FullGenerators, SubspaceGenerators
from symdisco.lie.sampling import IntegerGridLaw, NormalLaw, UniformLaw, group_elements, group_log, make_law



@pytest.fixture(autouse=True)
def float64_by_default():
    """Properties are checked in float64; restore the default so other test files are unaffected."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def random_basis(k, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(k, n, n, generator=g, dtype=torch.float64)


def test_exp_log_round_trip():
    basis = random_basis(3, 4)
    w = 0.3 * torch.randn(16, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    elements = group_elements(basis, w)
    algebra_elements = torch.einsum("bk,kij->bij", w, basis)
    assert torch.allclose(group_log(elements), algebra_elements, atol=1e-8)
    assert torch.allclose(group_elements(basis, torch.zeros(2, 3)), torch.eye(4).expand(2, 4, 4))


def test_one_parameter_subgroup_is_a_homomorphism():
    basis = random_basis(1, 3, seed=2)
    s, t = torch.tensor([[0.3]]), torch.tensor([[-0.7]])
    assert torch.allclose(group_elements(basis, s) @ group_elements(basis, t), group_elements(basis, s + t), atol=1e-10)


@pytest.mark.parametrize("action,shape,n", [(VectorAction(), (5, 3), 3), (BlockAction(2), (5, 8), 2),
                                            (PointAction(), (5, 7, 4), 4)])
def test_action_is_a_homomorphism(action, shape, n):
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(*shape, generator=gen)
    g1 = torch.linalg.matrix_exp(0.5 * torch.randn(shape[0], n, n, generator=gen))
    g2 = torch.linalg.matrix_exp(0.5 * torch.randn(shape[0], n, n, generator=gen))
    assert torch.allclose(action.apply(g1 @ g2, x), action.apply(g1, action.apply(g2, x)), atol=1e-10)
    assert torch.allclose(action.apply(torch.eye(n), x), x)


def test_block_action_rotates_every_block_alike():
    x = torch.tensor([[1.0, 0.0, 0.0, 2.0]])
    quarter_turn = torch.tensor([[0.0, -1.0], [1.0, 0.0]])
    assert torch.allclose(BlockAction(2).apply(quarter_turn, x), torch.tensor([[0.0, 1.0, -2.0, 0.0]]))
    with pytest.raises(ValueError, match="multiple of block size"):
        BlockAction(3).apply(quarter_turn, x)


def test_image_action_moves_content_by_g_and_composes():
    image = torch.zeros(1, 1, 9, 9)
    image[0, 0, 4, 6] = 1.0  # a dot to the right of the centre (x > 0, y = 0)
    angle = math.pi / 2
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle), 0.0],
                             [math.sin(angle), math.cos(angle), 0.0], [0.0, 0.0, 1.0]])
    rotated = ImageAction().apply(rotation, image)
    row, col = divmod(int(rotated.flatten().argmax()), 9)
    assert (row, col) == (6, 4)  # +90 degrees in (x right, y down) image coordinates
    twice = ImageAction().apply(rotation, rotated)
    assert torch.allclose(twice, ImageAction().apply(rotation @ rotation, image), atol=1e-6)


def test_task_action_transforms_y_only_when_equivariant():
    x, y = torch.randn(4, 2), torch.randn(4, 2)
    g = torch.linalg.matrix_exp(torch.tensor([[0.0, -1.0], [1.0, 0.0]]))
    gx, gy = TaskAction(VectorAction(), VectorAction()).apply(g, x, y)
    assert torch.allclose(gy, VectorAction().apply(g, y))
    gx2, y_same = TaskAction(VectorAction()).apply(g, x, y)
    assert y_same is y and torch.allclose(gx, gx2)
    with pytest.raises(ValueError, match="unknown action"):
        get_action("spin")


def test_laws_shapes_ranges_and_gradients():
    gen = torch.Generator().manual_seed(0)
    normal = NormalLaw(3, scale=2.0)
    w = normal.sample(20000, gen)
    assert w.shape == (20000, 3) and abs(w.std().item() - 2.0) < 0.05
    w.sum().backward()
    assert normal.raw_scale.grad is not None  # the scale is learnable through the sample
    uniform = UniformLaw(2, half_width=0.5)
    u = uniform.sample(5000, gen)
    assert u.abs().max() <= 0.5 and u.abs().max() > 0.45
    grid = IntegerGridLaw(1, step=0.25, max_steps=3)
    values = set((grid.sample(2000, gen) / 0.25).round().flatten().tolist())
    assert values == {-3, -2, -1, 1, 2, 3}
    with pytest.raises(ValueError, match="unknown coefficient law"):
        make_law("cauchy", 1)


def test_parameterisations_shapes_and_structure():
    assert FullGenerators(2, 5)().shape == (2, 5, 5)
    assert BlockGenerators(1, 2)().shape == (1, 2, 2)
    span = torch.stack([torch.tensor([[0.0, -1.0], [1.0, 0.0]]), torch.eye(2)])
    sub = SubspaceGenerators(3, span)()
    assert sub.shape == (3, 2, 2) and torch.allclose(sub[:, 0, 0], sub[:, 1, 1])
    affine = AffineGenerators(2)()
    assert affine.shape == (2, 3, 3) and torch.all(affine[:, 2] == 0)
    # exp of an affine generator keeps the homogeneous row (0, 0, 1)
    assert torch.allclose(group_elements(affine, torch.ones(1, 2))[0, 2], torch.tensor([0.0, 0.0, 1.0]))
