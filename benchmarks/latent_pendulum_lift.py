"""How well can the latent autoencoder reconstruct the pendulum's image lift?  Reconstruction
only (no GAN, no SINDy), per width and training length; writes
benchmarks/results/latent_pendulum_lift.json.

    python benchmarks/latent_pendulum_lift.py [--configs 64:15,256:15,256:60]

Each config is hidden width : epochs (2 hidden layers, tanh, batch 128, Adam 1e-3, seed 0).
Also recorded: how the data differ from the random lift (principal components for 90 / 99%
of the variance, share of the squared norm in the frame-derivative half of the image lift).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import symdisco.datasets as datasets  # noqa: E402
from symdisco.io_utils import atomic_write_json  # noqa: E402
from symdisco.methods.latent import LatentAutoencoder, Projection  # noqa: E402


def relative(a, b) -> float:
    return float(((a - b) ** 2).sum() / (b ** 2).sum())


def reconstruction(data, hidden: int, epochs: int) -> dict:
    projection = Projection.fit(data.x, 0, torch.Generator().manual_seed(0))
    c = projection.transform(data.x)
    torch.manual_seed(0)
    ae = LatentAutoencoder(c.shape[1], 2, hidden, 2, "tanh")
    optimizer = torch.optim.Adam(ae.parameters(), lr=1e-3)
    ae.calibrate(c)
    start = time.process_time()
    for _ in range(epochs):
        for idx in torch.randperm(len(c)).split(128):
            optimizer.zero_grad()
            F.mse_loss(ae.decode(ae.encode(c[idx])), c[idx]).backward()
            optimizer.step()
    ae.eval()
    ae.calibrate(c)
    with torch.no_grad():
        x, half = data.x.float(), data.x.shape[1] // 2
        r = projection.inverse(ae.decode(ae.encode(c)))
    return {"hidden": hidden, "epochs": epochs, "cpu_seconds": round(time.process_time() - start, 1),
            "recon": relative(r, x), "frames": relative(r[:, :half], x[:, :half]),
            "rates": relative(r[:, half:], x[:, half:])}


def spectrum(x: np.ndarray) -> dict:
    x = x.astype(np.float64) - x.mean(0)
    s = np.linalg.svd(x[::4], compute_uv=False)
    share = np.cumsum(s ** 2) / (s ** 2).sum()
    return {"components_90": int(np.searchsorted(share, 0.9)) + 1,
            "components_99": int(np.searchsorted(share, 0.99)) + 1}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="64:15,256:15,256:60")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "latent_pendulum_lift.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    image, random = datasets.load("pendulum"), datasets.load("pendulum", lift="random")
    x = image.x.numpy()
    half = x.shape[1] // 2
    report = {"benchmark": "latent_pendulum_lift",
              "image_lift": {"shape": list(x.shape), **spectrum(x),
                             "norm_share_of_frame_derivatives": float((x[:, half:] ** 2).sum() / (x ** 2).sum())},
              "random_lift": {"shape": list(random.x.shape), **spectrum(random.x.numpy())},
              "reconstruction": []}
    for config in args.configs.split(","):
        hidden, epochs = (int(v) for v in config.split(":"))
        report["reconstruction"].append(reconstruction(image, hidden, epochs))
        atomic_write_json(args.out, report)
        print(json.dumps(report["reconstruction"][-1]), flush=True)


if __name__ == "__main__":
    main()
