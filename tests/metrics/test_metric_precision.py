"""bf16 rewards: when ``search.reward_bf16`` turns them on, and what the extractor returns under them."""

from __future__ import annotations

import pytest
import torch

from autogan.data._digits import load_digits
from autogan.metrics import bf16_autocast, extract_features, get_extractor, inception_score, reward_bf16
from autogan.metrics._precision import AUTO_BF16_ON_CUDA

CPU = torch.device("cpu")
CUDA = torch.device("cuda")


@pytest.mark.parametrize("extractor", ["digits-classifier", "inception-v3", "not-registered"])
def test_auto_is_off_on_the_cpu_and_as_measured_on_cuda(extractor):
    assert reward_bf16("auto", CPU, extractor) is False
    assert reward_bf16("auto", CUDA, extractor) is AUTO_BF16_ON_CUDA.get(extractor, False)


@pytest.mark.parametrize("device", [CPU, CUDA])
def test_true_and_false_are_taken_as_given(device):
    assert reward_bf16(True, device, "digits-classifier") is True
    assert reward_bf16(False, device, "digits-classifier") is False


def test_bf16_autocast_is_autocast_on_the_device_or_nothing():
    with bf16_autocast(CPU, False):
        assert not torch.is_autocast_enabled("cpu")
    with bf16_autocast(CPU, True):
        assert torch.is_autocast_enabled("cpu")
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16
        assert not torch.is_autocast_enabled("cuda")


@pytest.fixture(scope="module")
def bf16_digits_extractor(metrics_cache_dir):
    return get_extractor("digits-classifier", cache_dir=metrics_cache_dir, bf16=True)


def test_a_bf16_extractor_returns_float32_keys_its_cache_apart_and_stays_contiguous_off_cuda(
    bf16_digits_extractor, metrics_digits_extractor
):
    images = load_digits(size=32)[:64]
    features, logits = bf16_digits_extractor(images.bfloat16())
    assert features.dtype == logits.dtype == torch.float32
    assert bf16_digits_extractor.identity == f"{metrics_digits_extractor.identity}-bf16"
    assert not bf16_digits_extractor.channels_last and not metrics_digits_extractor.channels_last


def test_bf16_images_are_quantized_in_float32(metrics_digits_extractor):
    # In bf16 arithmetic, about one bf16 value in six in [-1, 1] would land on the next uint8 level.
    images = (torch.rand((16, 1, 32, 32), generator=torch.Generator().manual_seed(0)) * 2 - 1).bfloat16()
    from_bf16 = metrics_digits_extractor(images)
    from_float32 = metrics_digits_extractor(images.float())
    assert all(torch.equal(a, b) for a, b in zip(from_bf16, from_float32))


def test_the_digits_reward_in_bf16_is_within_half_a_percent_of_float32(bf16_digits_extractor, metrics_digits_extractor):
    images = load_digits(size=32)[:500]
    scores = [
        inception_score(extract_features(images.split(250), extractor)[1], 10)[0]
        for extractor in (metrics_digits_extractor, bf16_digits_extractor)
    ]
    assert scores[0] != scores[1]  # bf16 did run
    assert abs(scores[1] - scores[0]) / scores[0] < 0.005
