"""search.reward = "fid": architectures rewarded with minus their FID against the dataset, in the reward's features."""

import math

import pytest

from autogan.config import load_config
from autogan.errors import ConfigError
from autogan.search import RunDirectory, run_search


@pytest.fixture(scope="module")
def trained_box(tiny_overrides_for):
    from autogan.search import SupernetTrainer

    trainer = SupernetTrainer(load_config("digits", tiny_overrides_for()).to_dict())
    trainer.train(2, [trainer.space.sample(i) for i in range(6)])
    return trainer.space, {"version": 1, "ref": trainer.weights()}


@pytest.fixture
def evaluator_for(tiny_overrides_for):
    from autogan.search import RewardEvaluator

    return lambda reward: RewardEvaluator(load_config("digits", tiny_overrides_for(f"search.reward='{reward}'")).to_dict())


def test_the_fid_reward_is_minus_the_fid_of_the_same_images_against_the_dataset(trained_box, evaluator_for):
    from autogan.metrics import compute_statistics, extract_features, fid_from_statistics, reference_statistics

    space, box = trained_box
    arch = str(space.sample(3))
    evaluator = evaluator_for("fid")
    row = evaluator.score({"key": [0], "arch": arch, "seed": 11}, box)
    # Recomputed apart: the same images (seed and normalization), the dataset's statistics at the image size.
    images = evaluator.sample_images(arch, evaluator.config.search.reward_samples, 11, box)
    reference = reference_statistics("digits", images.shape[-1], evaluator.extractor)
    expected = fid_from_statistics(compute_statistics(extract_features([images], evaluator.extractor)[0]), reference)
    assert row["error"] is None and math.isfinite(row["fid"])
    assert row["fid"] == pytest.approx(expected, rel=1e-6)
    assert row["reward"] == -row["fid"]


def test_both_rewards_score_the_same_images_and_keep_the_inception_score(trained_box, evaluator_for):
    space, box = trained_box
    item = {"key": [0], "arch": str(space.sample(4)), "seed": 5}
    by_is, by_fid = evaluator_for("is").score(item, box), evaluator_for("fid").score(item, box)
    assert by_is["reward"] == by_is["is_mean"] == by_fid["is_mean"]
    assert by_is["fid"] is None  # no reference statistics are computed for an IS search
    assert by_fid["reward"] < 0


def test_a_search_with_the_fid_reward_records_it_and_ranks_by_it(tiny_config, tmp_path):
    config = tiny_config("run.backend='inprocess'", "search.reward='fid'", iterations=1)
    ranking = run_search(config, tmp_path / "run", progress=False)
    rows = RunDirectory.open(tmp_path / "run").evaluations()
    assert rows and all(r["reward"] == -r["fid"] and r["is_mean"] > 0 for r in rows if r["error"] is None)
    rescored = [r for r in rows if r["kind"] == "rescore" and r["arch"] == str(ranking[0].arch)]
    assert ranking[0].mean_reward == pytest.approx(sum(r["reward"] for r in rescored) / len(rescored))


def test_an_unknown_reward_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"search.reward='lpips': not one of \['is', 'fid'\]"):
        load_config("digits", ["search.reward='lpips'"])


def _unsharp(images):
    """An unsharp mask: high-frequency artefacts that a real image of that size does not have."""
    import torch.nn.functional as F

    blurred = F.avg_pool2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return (images + 1.5 * (images - blurred)).clamp(-1, 1)


def test_an_early_stage_is_scored_against_the_data_at_its_own_resolution(tiny_overrides_for):
    """A perfect stage-1 generator (the trainer's own 8 px digits) must out-score a sharpened one.

    Against statistics of the final resolution (32 px) it did not: real 8 px digits scored
    FID 30 there and their unsharp-masked copies 1.6, so stage 1 rewarded artefacts.
    """
    from autogan.data import get_dataset
    from autogan.search import RewardEvaluator
    from autogan.search._worker_setup import final_resolution

    config = load_config("digits", tiny_overrides_for("search.reward='fid'", "search.reward_samples=600",
                                                      "search.reward_norm='running'", cells=3))
    evaluator = RewardEvaluator(config.to_dict())
    size = config.model.bottom_width * 2  # stage 1
    # Batches as the trainer draws them: the dataset at the final resolution, resized to the stage's.
    source = get_dataset("digits", size=final_resolution(config))
    real = next(source.iter_batches(config.search.reward_samples, size=size))  # (600, 1, 8, 8)
    box = {"version": 0, "ref": evaluator.generator.state_dict()}
    item = {"key": [1, 0, "policy", 0], "arch": "post,none,nearest,sc", "seed": 3}
    fids = {}
    for name, images in (("real", real), ("sharpened", _unsharp(real))):
        evaluator._generate = lambda z, arch, images=images: images[: len(z)]
        fids[name] = evaluator.score(item, box)["fid"]
    assert fids["real"] < fids["sharpened"], fids
    # The same images as the reference's first 600 of 1,797: only the sample's own noise is left.
    assert fids["real"] < 3.0, fids


def test_statistics_of_resized_data_have_their_own_cache_key():
    from types import SimpleNamespace

    from autogan.metrics._reference import reference_key

    extractor = SimpleNamespace(identity="digits-classifier-abc")  # the key reads only its identity
    direct = reference_key("digits", 8, extractor)
    resized = reference_key("digits", 8, extractor, loaded_at=32)
    assert direct != resized and "32px-to-8px" in resized
    assert reference_key("digits", 8, extractor, loaded_at=8) == direct
