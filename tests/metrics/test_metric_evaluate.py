"""evaluate_generator's batching, failure handling, and cached reference statistics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from cli_contract import assert_one_line_error

import autogan.metrics._reference as reference_module
from autogan.cli import main
from autogan.data import get_dataset
from autogan.data._digits import load_digits
from autogan.metrics import evaluate_generator, reference_statistics
from autogan.metrics._reference import reference_key


def pool_generator(pool: torch.Tensor):
    """A 'generator' that hands out the pool's images in order, whatever the batch size."""
    position = 0

    def generate(n: int) -> torch.Tensor:
        nonlocal position
        batch = pool[position : position + n]
        position += n
        return batch

    return generate


@pytest.fixture(scope="module")
def noisy_digits():
    generator = torch.Generator().manual_seed(3)
    images = load_digits(size=32)[:1000]
    return (images + 0.3 * torch.randn(images.shape, generator=generator)).clamp(-1, 1)


def test_scores_do_not_depend_on_batch_size(metrics_digits_extractor, noisy_digits):
    reference = reference_statistics("digits", 32, metrics_digits_extractor)
    results = [
        evaluate_generator(pool_generator(noisy_digits), 1000, metrics_digits_extractor, batch_size=b, reference=reference)
        for b in (37, 128, 1000)
    ]
    for result in results[1:]:
        assert result.is_mean == pytest.approx(results[0].is_mean, abs=1e-5)
        assert result.is_std == pytest.approx(results[0].is_std, abs=1e-5)
        assert result.fid == pytest.approx(results[0].fid, abs=1e-5)
    assert results[0].num_samples == 1000 and results[0].fid > 0


def test_non_finite_images_score_nan_not_a_crash(metrics_digits_extractor):
    def diverged(n):
        images = torch.zeros(n, 1, 32, 32)
        images[0, 0, 0, 0] = float("nan")
        return images

    result = evaluate_generator(diverged, 100, metrics_digits_extractor, batch_size=50, reference=None)
    assert math.isnan(result.is_mean) and result.fid is None and not result.ok


def test_generate_returning_the_wrong_count_is_an_error(metrics_digits_extractor):
    with pytest.raises(ValueError, match=r"generate\(10\) returned 3 images"):
        evaluate_generator(lambda n: torch.zeros(3, 1, 32, 32), 10, metrics_digits_extractor)


def test_reference_statistics_are_cached_reused_and_rebuilt_when_corrupt(
    metrics_digits_extractor, tmp_path, monkeypatch, caplog
):
    source = get_dataset("digits", size=16)
    first = reference_statistics("digits", 16, metrics_digits_extractor, cache_dir=tmp_path, source=source)
    path = tmp_path / "reference" / f"{reference_key('digits', 16, metrics_digits_extractor)}.npz"
    assert path.is_file() and first.n == 1797 and first.mu.shape == (128,)

    real_extract = reference_module.extract_features
    monkeypatch.setattr(reference_module, "extract_features", lambda *a, **k: pytest.fail("recomputed a cached entry"))
    again = reference_statistics("digits", 16, metrics_digits_extractor, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.sigma, first.sigma)
    monkeypatch.setattr(reference_module, "extract_features", real_extract)

    with np.load(path) as stored:
        tampered = {name: stored[name] for name in stored.files}
    tampered["mu"] = tampered["mu"] + 1.0
    with open(path, "wb") as handle:
        np.savez(handle, **tampered)
    rebuilt = reference_statistics("digits", 16, metrics_digits_extractor, cache_dir=tmp_path, source=source)
    np.testing.assert_allclose(rebuilt.mu, first.mu, rtol=1e-12)
    assert "checksum mismatch" in caplog.text

    path.write_bytes(b"\x00garbage")
    rebuilt = reference_statistics("digits", 16, metrics_digits_extractor, cache_dir=tmp_path, source=source)
    np.testing.assert_allclose(rebuilt.sigma, first.sigma, rtol=1e-12)
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_reference_key_names_dataset_resolution_and_exact_extractor(metrics_digits_extractor):
    key = reference_key("digits", 32, metrics_digits_extractor)
    assert key.startswith("digits-32px-digits-classifier-") and key.endswith(metrics_digits_extractor.identity[-16:])
    assert reference_key("folder", 32, metrics_digits_extractor, root="/a") != reference_key(
        "folder", 32, metrics_digits_extractor, root="/b"
    )


def test_cli_scores_real_digits(metrics_digits_extractor, capsys):
    assert main(["metrics", "--dataset", "digits", "--real", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["extractor"] == "digits-classifier" and report["num_samples"] == 1797
    assert report["is_mean"] > 8.0
    assert 0 < report["fid_halves"] < 5.0
    assert report["held_out_accuracy"] >= 0.95


def test_cli_requires_what_to_score(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["metrics", "--dataset", "digits"])
    # A usage error, caught before the subcommand runs: argparse's message, on a line naming the command.
    line = assert_one_line_error(exit_info.value.code, capsys.readouterr().err, "metrics")
    assert "--real" in line and line.endswith("(see 'autogan metrics --help')")
