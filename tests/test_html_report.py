"""`symdisco report`: never rewrites result.json, writes its own files or says why not, and
`--html` writes one self-contained page that headless Chromium renders without errors."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from symdisco.cli import main
from symdisco.lie import LieAlgebra, known
from symdisco.result import SymmetryResult

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "report_screenshot.png"


def noisy(algebra, noise, seed):
    gen = torch.Generator().manual_seed(seed)
    return algebra.basis + noise * torch.randn(algebra.basis.shape, generator=gen, dtype=torch.float64)


def make_runs(root: Path) -> list[Path]:
    """Three result folders as discover and the closed-form and latent methods leave them."""
    history = [{"epoch": e, "loss_d": 1.3 - 0.02 * e, "loss_g": 0.9 + 0.03 * e, "d_real_acc": 0.5 + 0.01 * e}
               for e in range(12)]
    liegan = SymmetryResult(LieAlgebra(noisy(known.so(3), 0.03, 0)), "liegan", "so3-invariant",
                            options={"epochs": 12, "lr_generator": 0.02}, seed=0, seconds=3.2,
                            similarity=0.991, history=history)
    liegan.save(root / "liegan-so3")
    (root / "liegan-so3" / "verify.json").write_text(json.dumps({     # as `symdisco verify` leaves it
        "eps": 0.2, "baseline": {"violation": 0.5}, "flagged": [1], "passed": False,
        "generators": [{"generator": i, "violation": v, "ratio": v / 0.5, "spurious": v > 0.2}
                       for i, v in enumerate([0.01, 0.4, 0.02])]}))

    closed = SymmetryResult(LieAlgebra(noisy(known.lorentz(), 0.01, 1)), "liesd", "my-jets.npz",
                            options={"tol": 0.3}, seed=0, seconds=0.4, similarity=None,
                            extras={"singular_values": [1e-4, 2e-4, 3e-4, 5e-4, 6e-4, 8e-4, 0.4, 0.7, 1.1, 1.6],
                                    "ground_truth": {"name": "so(1,3)", "generators": known.lorentz().numpy().tolist()},
                                    "verify": [{"generator": f"L{i + 1}", "score": 0.99 - 0.01 * i, "holds": True}
                                               for i in range(6)]})
    closed.save(root / "liesd-jets")
    record = json.loads((root / "liesd-jets" / "result.json").read_text())
    record["algebra"] = "so(1,3) (checked by hand)"          # a hand-edited file keeps this
    (root / "liesd-jets" / "result.json").write_text(json.dumps(record))

    latent = root / "latent-rd"
    latent.mkdir()
    record = {"method": "latent", "dataset": "reaction-diffusion", "generators": known.so(2).numpy().tolist(),
              "similarity": None, "algebra": "so(2)", "algebra_confidence": 0.97, "seconds": 41.0, "seed": 1,
              "options": {"latent_dim": 2}, "equations": ["z0' = -0.998 z1", "z1' = 1.002 z0"],
              "vector_fields": [{"text": "x d/dy - y d/dx", "coefficients": {"x d/dy": 1.0, "y d/dx": -1.0}}],
              "true_vector_fields": ["y d/dx - x d/dy"]}
    (latent / "result.json").write_text(json.dumps(record))
    lines = [json.dumps({"epoch": e, "loss_recon": 1.0 / (e + 1)}) for e in range(8)]
    (latent / "losses.jsonl").write_text("\n".join(lines + ['{"epoch": 8, "loss_re']))   # torn by a kill
    return [root / "liegan-so3", root / "liesd-jets", latent]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("template")
    make_runs(root)
    return root


@pytest.fixture
def runs(template, tmp_path):
    """Fresh copies of the three folders for each test."""
    shutil.copytree(template, tmp_path / "runs")
    return [tmp_path / "runs" / name for name in ("liegan-so3", "liesd-jets", "latent-rd")]


def snapshot(folders):
    return {str(p): p.read_bytes() for folder in folders for p in sorted(folder.iterdir()) if p.is_file()}


def assert_one_line(stderr: str, fragment: str):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr and fragment in lines[0], stderr


def test_report_writes_its_own_files_and_never_result_json(runs, capsys):
    folders = runs
    before = snapshot(folders)
    assert main(["report", *map(str, folders)]) == 0
    out = capsys.readouterr().out
    assert "so(1,3) (checked by hand)" in out and "z0' = -0.998 z1" in out
    after = snapshot(folders)
    for path, data in before.items():                        # nothing that was there changed
        assert after[path] == data, path
    for folder in folders:
        assert (folder / "report.md").is_file() and (folder / "report_generators.png").stat().st_size > 0
    assert (folders[2] / "report_losses.png").is_file()        # from losses.jsonl, torn line skipped
    assert "checked by hand" in (folders[1] / "report.md").read_text()


def test_report_of_a_run_that_found_no_symmetry(tmp_path, capsys):
    """k = 0 on a built-in dataset with a truth: the truth is shown on its own space (it was
    sized from the found generators: 0 x 0, and the figure crashed)."""
    SymmetryResult(LieAlgebra(torch.zeros(0, 2, 2, dtype=torch.float64)), "liesd", "so2-invariant").save(tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "generators: none (no symmetry found)" in out
    assert (tmp_path / "report_generators.png").stat().st_size > 0
    assert main(["report", str(tmp_path), "--html", str(tmp_path / "page.html")]) == 0
    page = (tmp_path / "page.html").read_text()
    assert "none found" in page and "ground truth: <b>so(2)" in page


def test_report_says_so_when_it_cannot_write(runs, capsys):
    folder = runs[0]
    (folder / "report_generators.png").mkdir()                # something in the way: the write fails
    before = snapshot([folder])
    assert main(["report", str(folder)]) == 0                 # the summary was printed: not an error
    captured = capsys.readouterr()
    assert "so(3)" in captured.out
    assert_one_line(captured.err, "cannot write the report files")
    assert snapshot([folder]) == before and not list(folder.glob(".*tmp*"))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_report_in_a_read_only_folder(runs):
    folder = runs[0]
    folder.chmod(0o555)
    try:
        proc = subprocess.run([sys.executable, "-m", "symdisco", "report", str(folder)],
                              capture_output=True, text=True, timeout=120)
    finally:
        folder.chmod(0o755)
    assert proc.returncode == 0 and "so(3)" in proc.stdout
    assert_one_line(proc.stderr, "cannot write the report files")


@pytest.mark.parametrize("edit,fragment", [
    (lambda r: r.pop("method"), "no 'method'"),
    (lambda r: r.update(generators=[[1.0, 2.0]]), "'generators' must be"),
])
def test_report_of_a_broken_result_is_one_line_and_exit_2(runs, capsys, edit, fragment):
    folder = runs[0]
    record = json.loads((folder / "result.json").read_text())
    edit(record)
    (folder / "result.json").write_text(json.dumps(record))
    assert main(["report", str(folder)]) == 2
    assert_one_line(capsys.readouterr().err, fragment)
    assert not (folder / "report.md").exists()


def test_html_page_that_cannot_be_written_is_one_line_and_exit_2(runs, tmp_path, capsys):
    folders = runs
    (tmp_path / "a-file").write_text("")
    assert main(["report", str(folders[0]), "--html", str(tmp_path / "a-file" / "page.html")]) == 2
    assert_one_line(capsys.readouterr().err, "cannot write")


def test_repr_html_shows_the_same_summary():
    result = SymmetryResult(LieAlgebra(noisy(known.lorentz(), 0.01, 2)), "liegan", "lorentz-jets",
                            seconds=1.0, similarity=0.97)
    page = result._repr_html_()
    assert 'class="sd-report"' in page and "so(1,3)" in page and "table class=\"heat" in page
    assert "signature (1, 3)" in page                          # the invariant metric's signature
    assert not re.search(r"(src|href)=[\"']https?:", page)
    pixels = SymmetryResult(LieAlgebra(torch.as_tensor(known.rotation_field_generator(5))), "lconv",
                            "rotation-2d")                     # 25 x 25: drawn as an image
    assert "data:image/png;base64," in pixels._repr_html_()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_html_page_renders_in_headless_chromium(runs, tmp_path, capsys):
    sync_api = pytest.importorskip("playwright.sync_api")
    folders = runs
    before = snapshot(folders)
    page_path = tmp_path / "out" / "compare.html"
    assert main(["report", *map(str, folders), "--html", str(page_path)]) == 0
    assert f"wrote {page_path}" in capsys.readouterr().out
    assert snapshot(folders) == before                         # --html writes the page only
    text = page_path.read_text()
    assert not re.search(r"(src|href)=[\"']https?:", text) and "<script" not in text
    assert text.count("data:image/png;base64,") >= 3           # curves and the spectrum embedded

    requests, errors = [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load")
            headers = page.locator(".colhead").all_inner_texts()
            body = page.inner_text("body")
            broken = page.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length")
            heat_tables = page.locator("table.heat").count()
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert [h.splitlines()[0] for h in headers] == ["liegan-so3", "liesd-jets", "latent-rd"]
    for fragment in ("so(3)", "so(1,3) (checked by hand)", "Singular spectrum", "z0' = -0.998 z1",
                     "X1 = x d/dy - y d/dx", "true vector fields", "6 null (below the gap)", "Verify scores",
                     "flagged: L2", "spurious", "ground truth", "0.9910", "Structure constants"):
        assert fragment.lower() in body.lower(), fragment          # row titles are upper-cased by CSS
    assert broken == 0 and heat_tables == (3 + 3 + 1) + (6 + 6 + 1) + 1   # found, truth, metric per run
    assert (tmp_path / "report.png").stat().st_size > 10_000
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "report.png", SCREENSHOT)


def test_ground_truth_from_the_dataset_name_or_the_result():
    from symdisco.saved_runs import ground_truth

    def run(n, dataset, **extra):
        return {"record": {"method": "liegan", "dataset": dataset, "generators": np.zeros((1, n, n)).tolist(),
                           **extra}}

    name, source, basis = ground_truth(run(2, "nbody2"))
    assert name == "so(2)" and "nbody2" in source
    np.testing.assert_allclose(np.abs(basis[0]), np.abs(known.so(2).numpy()[0]))
    _, source, stacked = ground_truth(run(8, "nbody2"))                # nbody2 as one 8-vector
    assert "4 blocks" in source and stacked.shape == (1, 8, 8)
    np.testing.assert_allclose(stacked[0], np.kron(np.eye(4), basis[0]))
    assert ground_truth(run(3, "nbody2")) is None                      # another space
    assert ground_truth(run(2, "mine.npz")) is None                    # a user file: unknown
    stored = run(4, "nbody2", ground_truth={"name": "so(1,3)", "generators": known.lorentz().numpy().tolist()})
    assert ground_truth(stored)[:2] == ("so(1,3)", "result.json")      # stored truth wins
