"""Retraining from inherited weights: the search's final supernet, copied out for one architecture."""

from __future__ import annotations

import pytest
import torch

from cli_contract import assert_one_line_error

from autogan.cli import main
from autogan.config import load_config, load_retrain_config
from autogan.search import RunDirectory, run_search

SEARCH = ["model.ch=8", "model.df=8", "model.latent_dim=16", "train.batch_size=8", "train.d_steps_per_iteration=6",
          "search.reward_samples=40", "search.reward_splits=2", "search.archs_per_iteration=3",
          "search.beam_candidates=3", "search.beam_width=2", "search.calibration_samples=16", "search.top_k=2",
          "search.rescore_seeds=1", "run.threads=1", "search.num_cells=2", "search.stage_iterations=[1,1]",
          "run.backend='inprocess'"]
# The retrained networks in the supernet's shapes.
MATCHING = ["model.ch=8", "model.df=8", "model.latent_dim=16", "run.threads=1", "train.g_steps=2",
            "eval.samples=100", "eval.at_start=false", "eval.score_raw=false"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("inherit") / "run"
    ranking = run_search(load_config("digits", SEARCH), run_dir, progress=False)
    return run_dir, ranking[0].arch


def _supernet(run_dir):
    from autogan.search import build_models
    from search_spaces import SearchSpace

    record = RunDirectory.open(run_dir)
    config = record.config()
    supernet, discriminator = build_models(config, SearchSpace(num_cells=2), 0, torch.device("cpu"))
    trainer = record.load_checkpoint()["trainer"]
    supernet.load_state_dict(trainer["generator"])
    discriminator.load_state_dict(trainer["discriminator"])
    return supernet.eval(), discriminator


def test_the_retrainer_starts_from_the_supernets_weights_for_its_architecture(searched, tmp_path):
    from autogan.inherit import inherited_state
    from autogan.nn import Generator
    from autogan.retrain._directory import RetrainDirectory
    from autogan.retrain._loop import Retrainer

    run_dir, arch = searched
    z = torch.randn(5, 16, generator=torch.Generator().manual_seed(0))
    supernet, discriminator = _supernet(run_dir)
    with torch.no_grad():
        expected = Generator.from_supernet(supernet, arch).eval()(z)
    outputs = {}
    for name, extra in (("inherited", [f"train.init_from='{run_dir}'"]), ("fresh", [])):
        config = load_retrain_config("digits", MATCHING + extra)
        retrainer = Retrainer(RetrainDirectory(tmp_path / name), config, arch, inherit=inherited_state)
        with torch.no_grad():
            outputs[name] = retrainer.generator.eval()(z)
            ema = retrainer.ema.model.eval()(z)
        if name == "inherited":
            assert torch.equal(ema, outputs[name])  # the EMA starts as the inherited generator
            for key, value in discriminator.state_dict().items():
                assert torch.equal(retrainer.discriminator.state_dict()[key], value), key
    assert torch.equal(outputs["inherited"], expected)
    assert not torch.allclose(outputs["fresh"], expected)


def test_networks_of_other_shapes_cannot_inherit_and_the_error_names_the_keys(searched, tmp_path, capsys):
    run_dir, _ = searched
    code = main(["retrain", str(run_dir), "--rank", "1", "--inherit", "--out", str(tmp_path / "wide"),
                 *[f"--set={o}" for o in MATCHING if not o.startswith("model.ch=")], "--set=model.ch=16"])
    assert "set model.ch=8 to inherit" in assert_one_line_error(code, capsys.readouterr().err, "retrain")


def test_inherit_retrains_a_run_rank_end_to_end(searched, tmp_path, capsys):
    run_dir, _ = searched
    out = tmp_path / "rank1"
    assert main(["retrain", str(run_dir), "--rank", "1", "--inherit", "--out", str(out), *[f"--set={o}" for o in MATCHING]]) == 0
    capsys.readouterr()
    assert load_retrain_config(str(out / "config.toml"), []).train.init_from == str(run_dir)


def test_a_retrainer_without_a_reader_refuses_init_from_in_one_line(searched, tmp_path):
    from autogan.errors import UserError
    from autogan.retrain._directory import RetrainDirectory
    from autogan.retrain._loop import Retrainer

    run_dir, arch = searched
    config = load_retrain_config("digits", MATCHING + [f"train.init_from='{run_dir}'"])
    with pytest.raises(UserError, match="cannot read a search's weights"):
        Retrainer(RetrainDirectory(tmp_path / "r"), config, arch)
