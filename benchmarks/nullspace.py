"""Time the equivariant-weight null-space solve; writes JSON.

    python benchmarks/nullspace.py [--out FILE] [--repeats 3] [--large]

Every case is solved from a cold cache (a fresh Group) and timed with one thread; the
reported `seconds` is the best of `repeats`. `weight_dim` is dim_out * dim_in, `basis_size`
the number of independent equivariant maps found.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from symdisco.io_utils import atomic_write_json
from symdisco.lie import known
from symdisco.models.representations import Group, equivariant_basis


def so_basis(n):
    """The standard so(n) basis (the reference catalogue's), as a numpy array."""
    return known.so(n).basis.numpy()


def lorentz_basis():
    """so(1,3) on (E, px, py, pz): three rotations and three boosts."""
    return known.lorentz().basis.numpy()


def perturbed(basis, eps=0.01, seed=0):
    rng = np.random.default_rng(seed)
    return basis + eps * rng.standard_normal(basis.shape)


CASES = [
    # name, basis factory, (rep_in, rep_out) as expressions
    ("so2 4V->4V (nbody2 layer, 64-dim weight space)", lambda: so_basis(2), "4*V", "4*V"),
    ("so2 discovered (eps=0.01) 4V->4V", lambda: perturbed(so_basis(2)), "4*V", "4*V"),
    ("so3 V**2->V**2 (81-dim)", lambda: so_basis(3), "V**2", "V**2"),
    ("so(1,3) V**2->V**2 (256-dim)", lorentz_basis, "V**2", "V**2"),
    ("so(1,3) 16V->16V (64x64 weight)", lorentz_basis, "16*V", "16*V"),
    ("so(1,3) discovered 16V->16V (64x64 weight)", lambda: perturbed(lorentz_basis()), "16*V", "16*V"),
    ("so(1,3) 8V+32S->8V+32S (hidden layer, 64x64 weight)", lorentz_basis, "8*V+32*S", "8*V+32*S"),
    ("so3 V**3->V**3 (729-dim)", lambda: so_basis(3), "V**3", "V**3"),
    ("so(1,3) V**3->V**3 (64x64 weight, one block: structured solve)", lorentz_basis, "V**3", "V**3"),
    ("so(1,3) mixed basis + 0.1% noise V**3->V**3 (structured)",
     lambda: perturbed(np.einsum("ab,bij->aij", np.random.default_rng(1).standard_normal((6, 6)),
                                 lorentz_basis()), 0.001), "V**3", "V**3"),
]
LARGE = [("so(1,3) V**3->V**3 (64x64 weight, dense SVD for comparison)", lorentz_basis, "V**3", "V**3")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="JSON file (default: stdout only)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large", action="store_true",
                        help="also the dense 4096-unknown solve (tens of seconds)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for name, factory, rin, rout in CASES + (LARGE if args.large else []):
        best, size = float("inf"), None
        for _ in range(args.repeats if "dense" not in name else 1):
            group = Group(factory())
            from symdisco.models.representations import Rep
            a, b = Rep.parse(rin, group), Rep.parse(rout, group)
            t0 = time.perf_counter()
            if "dense" in name:
                from symdisco.models.representations import constraint_matrix, nullspace

                basis = nullspace(constraint_matrix(a, b))
            else:
                basis = equivariant_basis(a, b)
            best = min(best, time.perf_counter() - t0)
            size = basis.shape[0]
        rows.append({"case": name, "rep_in": rin, "rep_out": rout, "weight_dim": a.dim * b.dim,
                     "basis_size": int(size), "seconds": round(best, 5),
                     "under_1s": best < 1.0})
        print(f"{name:55s} weight_dim={a.dim * b.dim:5d} basis={size:4d} {best:8.4f} s",
              file=sys.stderr)
    payload = {"benchmark": "nullspace", "threads": 1, "torch": torch.__version__, "cases": rows}
    text = json.dumps(payload, indent=2)
    if args.out:
        atomic_write_json(args.out, payload)
    print(text)
    return payload


if __name__ == "__main__":
    main()
