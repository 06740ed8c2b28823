"""The extractor registry and the built-in digits classifier."""

from __future__ import annotations

import pytest
import torch

import autogan.metrics._digits_classifier as digits_classifier
from autogan.data._digits import load_digits
from autogan.data._sources import float_to_uint8
from autogan.errors import ConfigError
from autogan.metrics import evaluate_generator, extractor_names, get_extractor, inception_score, register_extractor


def test_registry_lists_both_extractors_and_rejects_bad_names():
    assert {"inception-v3", "digits-classifier"} <= set(extractor_names())
    with pytest.raises(ValueError, match="already registered"):
        register_extractor("inception-v3", lambda **kwargs: None)
    with pytest.raises(ValueError, match="without spaces"):
        register_extractor(" spaced", lambda **kwargs: None)
    with pytest.raises(ConfigError, match="unknown feature extractor 'vgg'.*digits-classifier"):
        get_extractor("vgg")


def test_digits_classifier_held_out_accuracy(metrics_digits_extractor):
    info = metrics_digits_extractor.info
    assert info["held_out_images"] >= 300
    assert info["held_out_accuracy"] >= 0.95
    assert metrics_digits_extractor.feature_dim == 128 and metrics_digits_extractor.num_classes == 10


def test_real_digits_reach_an_inception_score_near_ten(metrics_digits_extractor):
    images = load_digits(size=32)[torch.randperm(1797, generator=torch.Generator().manual_seed(0))]
    stream = iter(images.split(256))
    result = evaluate_generator(lambda n: next(stream)[:n], 1792, metrics_digits_extractor, batch_size=256)
    assert 8.0 < result.is_mean <= 10.0


def test_collapsed_generator_scores_one(metrics_digits_extractor):
    one_image = load_digits(size=32)[5:6]
    result = evaluate_generator(lambda n: one_image.expand(n, -1, -1, -1), 1000, metrics_digits_extractor)
    assert result.is_mean == pytest.approx(1.0, abs=1e-6)
    assert result.is_std == pytest.approx(0.0, abs=1e-6)


def test_float_gray_and_rgb_uint8_inputs_give_the_same_features(metrics_digits_extractor):
    gray = load_digits(size=32)[:50]
    rgb_uint8 = float_to_uint8(gray).expand(-1, 3, -1, -1)
    for a, b in zip(metrics_digits_extractor(gray), metrics_digits_extractor(rgb_uint8)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)  # luma weights sum to 1 up to rounding


def test_torch_fidelity_computes_the_same_inception_score_with_our_extractor(metrics_digits_extractor):
    """The classifier is registered with torch-fidelity: its own pipeline must agree with ours."""
    import torch_fidelity
    from torch.utils.data import Dataset

    images = float_to_uint8(load_digits(size=32)[:600]).expand(-1, 3, -1, -1)

    class Images(Dataset):
        def __len__(self):
            return len(images)

        def __getitem__(self, index):
            return images[index]

    theirs = torch_fidelity.calculate_metrics(
        input1=Images(),
        feature_extractor=digits_classifier.TORCH_FIDELITY_NAME,
        feature_extractor_weights_path=str(metrics_digits_extractor.info["weights"]),
        isc=True,
        isc_splits=10,
        samples_shuffle=False,
        cuda=False,
        cache=False,
        save_cpu_ram=True,
        verbose=False,
        batch_size=200,
    )
    _, logits = metrics_digits_extractor(images)
    ours = inception_score(logits, 10)
    assert ours[0] == pytest.approx(theirs["inception_score_mean"], rel=1e-6)


def test_classifier_cache_is_reused(metrics_digits_extractor, metrics_cache_dir, monkeypatch):
    def must_not_train():
        raise AssertionError("retrained although the cache is intact")

    monkeypatch.setattr(digits_classifier, "train_digits_classifier", must_not_train)
    again = get_extractor("digits-classifier", cache_dir=metrics_cache_dir)
    assert again.identity == metrics_digits_extractor.identity


@pytest.mark.parametrize("damage", ["truncate", "tamper", "stale"])
def test_corrupt_or_stale_classifier_cache_is_rebuilt(metrics_digits_extractor, tmp_path, monkeypatch, damage, caplog):
    good = digits_classifier._read_cache(digits_classifier.cache_path())
    path = digits_classifier.cache_path(tmp_path)
    path.parent.mkdir(parents=True)
    raw = digits_classifier.cache_path().read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    else:
        record = torch.load(digits_classifier.cache_path(), weights_only=True)
        if damage == "tamper":
            record["state_dict"]["fc.bias"] = record["state_dict"]["fc.bias"] + 1.0
        else:
            record["training"] = record["training"].replace('"epochs"', '"epochs_old"')
        torch.save(record, path)
    with pytest.raises(Exception):
        digits_classifier._read_cache(path)

    retrained = []

    def fake_training():
        retrained.append(True)
        return good

    monkeypatch.setattr(digits_classifier, "train_digits_classifier", fake_training)
    rebuilt = digits_classifier.load_or_train(tmp_path)
    assert retrained and rebuilt.checksum == good.checksum
    assert "stale or corrupt" in caplog.text
    assert digits_classifier._read_cache(path).checksum == good.checksum  # the rewritten file is whole
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
