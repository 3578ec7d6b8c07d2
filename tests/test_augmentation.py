import math

import torch
from torch.utils.data import DataLoader, TensorDataset

from symdisco.augmentation import GroupAugmentation, augment_loader, law_from
from symdisco.lie.known import so


class FakeResult:
    def __init__(self, basis, law, action):
        self.algebra = type("A", (), {"basis": basis})()
        self.coefficient_law = law
        self.action = action


def test_blocks_augmentation_consistent_with_group_law():
    basis = so(2).basis * 2 ** 0.5 / so(2).basis.norm()
    result = FakeResult(basis, {"law": "normal", "mean": [0.0], "scale": [0.7]},
                        {"action": "blocks", "block_dim": 2})
    aug = GroupAugmentation(result, equivariant=True, seed=0)
    x = torch.randn(256, 8, dtype=torch.float64)
    y = torch.randn(256, 8, dtype=torch.float64)
    gx, gy = aug(x, y)
    g = aug.last_elements
    # every g is a rotation (orthogonal, det 1): norms of each block preserved
    assert torch.allclose(g.transpose(1, 2) @ g, torch.eye(2, dtype=torch.float64).expand(256, 2, 2), atol=1e-10)
    assert torch.allclose(gx.reshape(256, 4, 2).norm(dim=-1), x.reshape(256, 4, 2).norm(dim=-1))
    # x and y transformed by the same element, block by block
    assert torch.allclose(gx.reshape(256, 4, 2), torch.einsum("bij,bmj->bmi", g, x.reshape(256, 4, 2)))
    assert torch.allclose(gy.reshape(256, 4, 2), torch.einsum("bij,bmj->bmi", g, y.reshape(256, 4, 2)))
    # angles follow the law: w ~ N(0, 0.7^2) and the normalised generator has |eigenvalue| = 1
    angles = torch.atan2(g[:, 1, 0], g[:, 0, 0])
    assert abs(angles.std().item() - 0.7) < 0.1


def test_invariant_task_leaves_labels_and_loader_wraps():
    from symdisco.lie.known import lorentz

    result = FakeResult(lorentz().basis, {"law": "uniform", "half_width": [0.3] * 6}, {"action": "points"})
    aug = GroupAugmentation(result, seed=1)
    x = torch.randn(32, 5, 4)
    y = torch.randint(0, 2, (32,))
    loader = augment_loader(DataLoader(TensorDataset(x, y), batch_size=8), aug)
    batches = list(loader)
    assert len(batches) == len(loader) == 4
    eta = torch.diag(torch.tensor([1.0, -1, -1, -1]))
    for i, (bx, by) in enumerate(batches):
        assert torch.equal(by, y[i * 8:(i + 1) * 8])
        before = torch.einsum("bni,ij,bnj->bn", x[i * 8:(i + 1) * 8], eta, x[i * 8:(i + 1) * 8])
        after = torch.einsum("bni,ij,bnj->bn", bx, eta, bx)
        assert torch.allclose(before, after, atol=1e-4)


def test_law_from_describe_dicts():
    assert law_from(None, 2).sample(3).shape == (3, 2)
    grid = law_from({"law": "integer_grid", "step": math.pi / 2, "max_steps": 2}, 1)
    w = grid.sample(100)
    assert torch.allclose(torch.remainder(w / (math.pi / 2), 1.0), torch.zeros_like(w), atol=1e-5)
    normal = law_from({"law": "normal", "mean": [0.0, 1.0], "scale": [0.5, 2.0]}, 2)
    assert torch.allclose(normal.scale, torch.tensor([0.5, 2.0]), atol=1e-5)
