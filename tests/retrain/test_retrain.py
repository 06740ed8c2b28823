"""Retraining end to end on digits: FID falls, EMA helps, a SIGKILL loses nothing, sampling and truncation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from cli_contract import assert_one_line_error

from search_spaces import AUTOGAN_TOP1

from autogan.cli import main
from autogan.retrain import generator_from_checkpoint, load_retrain_checkpoint, retrain, truncated_latents
from autogan.config import load_retrain_config
from autogan.retrain._loop import learning_rate
from autogan.retrain._scoring import truncation_sweep

from retrain_helpers import TINY, read_metrics

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained(run_dir) -> Path:
    """`autogan retrain RUN_DIR --rank 1` with the tiny recipe: scored at init, every 200 G steps, and at the end."""
    out = run_dir.parent / "retrain-rank1"
    code = main(["retrain", str(run_dir), *TINY, "train.g_steps=400", "eval.every=200", "--rank", "1", "--out", str(out), "--json"])
    assert code == 0
    return out


def test_fid_after_training_is_far_below_fid_at_init(trained, capsys):
    rows = read_metrics(trained)
    ema = {r["g_step"]: r for r in rows if r["weights"] == "ema"}
    assert sorted(ema) == [0, 200, 400]
    start, end = ema[0]["fid"], ema[400]["fid"]
    print(f"\nFID at init {start:.1f} -> after 400 G steps {end:.1f} (EMA, 1000 samples, digits classifier)")
    assert end < 0.5 * start
    assert ema[400]["is_mean"] > ema[0]["is_mean"]
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["final"]["g_step"] == 400 and summary["final"]["fid"] == pytest.approx(end)
    best = min((r for r in ema.values()), key=lambda r: r["fid"])
    assert summary["best"]["g_step"] == best["g_step"] and "optimistic" in summary["best"]["selected_by"]
    assert Path(summary["best"]["checkpoint"]).is_file()
    # The architecture came from the run's rank 1, and the grids exist per evaluation.
    assert json.loads((trained / "arch.json").read_text())["cells"] == AUTOGAN_TOP1.to_dict()["cells"]
    assert sorted(p.name for p in (trained / "samples").glob("*.png")) == ["step000000.png", "step000200.png", "step000400.png"]
    assert list((trained / "tb").iterdir())


def test_ema_weights_differ_from_raw_and_score_no_worse(trained):
    checkpoint = load_retrain_checkpoint(trained / "checkpoints" / "latest.pt")
    raw = checkpoint["generator"]
    ema = checkpoint["generator_ema"]
    assert raw.keys() == ema.keys()
    differing = [k for k in raw if raw[k].is_floating_point() and not torch.equal(raw[k], ema[k])]
    assert len(differing) > len(raw) // 2
    final = {r["weights"]: r for r in read_metrics(trained) if r["g_step"] == 400}
    print(f"\nfinal FID: EMA {final['ema']['fid']:.1f}, raw {final['raw']['fid']:.1f}")
    # Same latents for both (paired); 5% is the spread of FID on 1,000 samples between seeds. In
    # runs this short the EMA helps only once G stops improving fast: at 200 steps it lags behind.
    assert final["ema"]["fid"] <= 1.05 * final["raw"]["fid"]


def test_checkpoint_rebuilds_its_generator_alone(trained):
    checkpoint = load_retrain_checkpoint(trained / "checkpoints" / "latest.pt")
    generator = generator_from_checkpoint(checkpoint)
    assert str(generator.arch) == checkpoint["arch"] and not generator.training
    z = torch.randn(4, generator.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        images = generator(z)
    assert images.shape == (4, 1, 16, 16) and images.abs().max() <= 1


def test_metrics_of_a_checkpoint_match_the_retrainings_own_evaluation(trained, capsys):
    # The same checkpoint, weights and sample count: the same latents, so the same numbers.
    own = next(r for r in read_metrics(trained) if r["g_step"] == 400 and r["weights"] == "ema")
    assert main(["metrics", "--checkpoint", str(trained / "checkpoints" / "latest.pt"), "--num-samples",
                 str(own["samples"]), "--device", "cpu", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["g_step"] == 400 and report["weights"] == "ema"
    assert report["fid"] == pytest.approx(own["fid"], rel=1e-5) and report["is_mean"] == pytest.approx(own["is_mean"], rel=1e-5)


def test_sample_grid_folder_and_seed(trained, tmp_path, capsys):
    checkpoint = trained / "checkpoints" / "latest.pt"
    assert main(["sample", str(checkpoint), "--out", str(tmp_path / "a.png"), "--n", "16", "--seed", "3"]) == 0
    assert main(["sample", str(checkpoint), "--out", str(tmp_path / "b.png"), "--n", "16", "--seed", "3"]) == 0
    assert main(["sample", str(checkpoint), "--out", str(tmp_path / "c.png"), "--n", "16", "--seed", "4"]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "c.png").read_bytes()
    capsys.readouterr()
    assert main(["sample", str(checkpoint), "--out-dir", str(tmp_path / "imgs"), "--n", "5", "--truncation", "0.5", "--json"]) == 0
    assert sorted(p.name for p in (tmp_path / "imgs").iterdir()) == [f"{i:05d}.png" for i in range(5)]
    payload = json.loads(capsys.readouterr().out)
    assert payload["g_step"] == 400 and payload["truncation"] == 0.5 and payload["weights"] == "ema"


def test_truncated_latents_resample_exactly_into_the_interval():
    z = truncated_latents(2000, 16, 0.5, torch.Generator().manual_seed(0))
    assert z.abs().max() <= 0.5
    # Resampling gives the truncated normal: its std on [-0.5, 0.5] is about 0.2841.
    assert abs(float(z.std()) - 0.2841) < 0.01
    same = truncated_latents(2000, 16, 0.5, torch.Generator().manual_seed(0))
    assert torch.equal(z, same)
    assert torch.equal(truncated_latents(3, 4, None, torch.Generator().manual_seed(1)), torch.randn(3, 4, generator=torch.Generator().manual_seed(1)))


def test_truncation_lowers_diversity(trained):
    """Lower tau, less diverse samples.  The classifier IS is measured and printed, not asserted:
    on this small unconditional generator it falls with tau (the latent centre covers fewer digit
    classes), unlike BigGAN's class-conditional models where truncation raises IS."""
    rows = truncation_sweep(trained / "checkpoints" / "latest.pt", [None, 1.0, 0.5], samples=1000, device="cpu")
    print("\n  tau    IS      FID    diversity  confidence")
    for row in rows:
        tau = "none" if row["tau"] is None else f"{row['tau']:.2f}"
        print(f"  {tau:>5}  {row['is_mean']:.3f}  {row['fid']:7.1f}  {row['diversity']:.3f}     {row['confidence']:.3f}")
    diversity = [r["diversity"] for r in rows]
    confidence = [r["confidence"] for r in rows]
    assert diversity[0] > diversity[1] > diversity[2]
    assert all(0 < c <= 1 for c in confidence)
    assert rows[2]["fid"] > rows[0]["fid"]  # truncated samples cover less of the data distribution


def test_learning_rate_schedule():
    assert learning_rate(2e-4, 0, 100, False) == learning_rate(2e-4, 99, 100, False) == 2e-4
    assert learning_rate(2e-4, 0, 100, True) == 2e-4
    assert learning_rate(2e-4, 50, 100, True) == pytest.approx(1e-4)
    assert learning_rate(2e-4, 100, 100, True) == 0.0


def test_paper_preset_is_the_reference_recipe():
    config = load_retrain_config("cifar10")
    assert (config.model.ch, config.model.df) == (256, 128)
    train = config.train
    assert (train.g_batch_size, train.d_batch_size, train.n_critic, train.g_steps) == (128, 64, 5, 50_000)
    assert (train.lr_g, train.lr_d, train.beta1, train.beta2) == (2e-4, 2e-4, 0.0, 0.9)
    assert train.lr_decay is False and train.ema_decay == 0.999
    assert (config.eval.samples, config.eval.every, config.eval.extractor) == (50_000, 3125, "inception-v3")


def test_options_spectral_norm_ortho_reg_two_stage_run(tmp_path):
    """G spectral norm, orthogonal regularization, two-stage steps and lr decay all train and checkpoint."""
    config = load_retrain_config(
        "digits",
        [*TINY, "train.g_steps=4", "eval.every=4", "eval.samples=100", "eval.at_start=false", "eval.score_raw=false",
         "model.g_spectral_norm=true", "train.ortho_reg=1e-4", "train.step='two_stage'", "train.lr_decay=true"],
    )
    result = retrain(config, AUTOGAN_TOP1, tmp_path / "out", progress=False)
    checkpoint = load_retrain_checkpoint(result.final_checkpoint)
    assert any("parametrizations" in key for key in checkpoint["generator"])
    assert checkpoint["step"] == 4 and checkpoint["d_steps"] == 8
    generator = generator_from_checkpoint(checkpoint)
    assert generator(torch.zeros(2, 32)).shape == (2, 1, 16, 16)
    state = torch.get_rng_state()
    generator_from_checkpoint(checkpoint)
    assert torch.equal(state, torch.get_rng_state())  # rebuilding (spectral norm's u) leaves global RNG alone


def test_resume_after_sigkill_continues_from_the_last_checkpoint(tmp_path):
    steps = 60
    overrides = [*TINY, f"train.g_steps={steps}", "eval.every=1000", "eval.samples=100", "eval.at_start=false",
                 "eval.score_raw=false", "eval.checkpoint_every=5"]
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "autogan.cli", "retrain", *overrides, "--autogan-vector", "1 0 1 1 1 0 0 1 1 1 0 1 0 3",
               "--out", str(out)]
    latest = out / "checkpoints" / "latest.pt"
    # Checkpoints land at G steps 5, 10, 15...: die inside the third write, after its temporary file, before its rename.
    crash = [sys.executable, str(REPO / "tests" / "crash_run.py"), "before-replace", "latest.pt", "3", "--", *command[3:]]
    process = subprocess.run(crash, cwd=REPO, capture_output=True, text=True)
    assert process.returncode == -signal.SIGKILL, process.stderr[-1000:]
    assert list(latest.parent.glob(".latest.pt.*.tmp")), "the crash should have left the dead write's temporary file"
    killed_at = load_retrain_checkpoint(latest)["step"]
    assert killed_at == 10
    resumed = subprocess.run(
        [sys.executable, "-m", "autogan.cli", "retrain", "--resume", str(out), "--json"], cwd=REPO, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr[-1000:]
    assert f"continuing from the checkpoint at G step {killed_at} of {steps}" in resumed.stderr
    assert not list(out.rglob(".*.tmp")), "the resume left the dead write's temporary file behind"
    final = load_retrain_checkpoint(latest)
    assert final["step"] == steps and final["d_steps"] == steps * 2
    # The interrupted run ends exactly where an uninterrupted one does: nothing lost, nothing repeated.
    config = load_retrain_config("digits", overrides)
    straight = retrain(config, AUTOGAN_TOP1, tmp_path / "straight", progress=False)
    reference = load_retrain_checkpoint(straight.final_checkpoint)
    for key in ("generator", "generator_ema", "discriminator"):
        for name, tensor in reference[key].items():
            assert torch.equal(tensor, final[key][name]), f"{key}.{name} differs after resume"
    assert [r["g_step"] for r in read_metrics(out)] == [steps]


def test_a_published_vector_on_cifar10_is_retrained_with_the_papers_skip_semantics():
    import argparse

    from autogan.commands.retrain import _skip_semantics_for
    from autogan.retrain import build_generator
    from autogan.retrain._models import generator_args

    vector = " ".join(map(str, AUTOGAN_TOP1.to_autogan_vector()))
    published = argparse.Namespace(autogan_vector=vector)
    paper, note = _skip_semantics_for(published, load_retrain_config("cifar10"), None, [], "given")
    assert paper.model.skip_semantics == "reference" and "reference" in note
    reference = build_generator(generator_args(paper, AUTOGAN_TOP1))
    clean = build_generator(generator_args(load_retrain_config("cifar10"), AUTOGAN_TOP1))
    assert reference.skip_out_includes_skip_ins and not clean.skip_out_includes_skip_ins
    # Same network, same parameters: only where the skip output is read differs.
    assert sum(p.numel() for p in reference.parameters()) == sum(p.numel() for p in clean.parameters()) == 4_405_251
    z = torch.randn(2, 128, generator=torch.Generator().manual_seed(0))
    clean.load_state_dict(reference.state_dict())
    with torch.no_grad():
        assert not torch.allclose(reference(z), clean(z))
    # An explicit choice wins; digits and a searched architecture keep the clean semantics.
    kept, _ = _skip_semantics_for(published, load_retrain_config("cifar10"), None, ["model.skip_semantics=clean"], "")
    assert kept.model.skip_semantics == "clean"
    digits, _ = _skip_semantics_for(published, load_retrain_config("digits"), None, [], "")
    assert digits.model.skip_semantics == "clean"
    ranked = argparse.Namespace(autogan_vector=None)
    searched, _ = _skip_semantics_for(ranked, load_retrain_config("cifar10"), {"model": {"skip_semantics": "clean"}}, [], "")
    assert searched.model.skip_semantics == "clean"


@pytest.mark.parametrize("step, expected", [("one_stage", [16, 16, 40]), ("two_stage", [16, 16, 16, 40])])
def test_a_g_step_trains_g_on_g_batch_size_fakes(tmp_path, step, expected):
    """``train.g_batch_size`` is honoured by both steps: the one-stage merged step draws the G batch."""
    from search_spaces import SearchSpace

    from autogan.retrain._directory import RetrainDirectory
    from autogan.retrain._loop import Retrainer

    overrides = [o for o in TINY if not o.startswith(("train.g_batch_size", "train.n_critic"))]
    config = load_retrain_config(
        "retrain_digits", [*overrides, f"train.step='{step}'", "train.n_critic=3", "train.g_batch_size=40"]
    )
    retrainer = Retrainer(RetrainDirectory(tmp_path / "run"), config, SearchSpace(num_cells=3).sample(0))
    batches: list[int] = []
    retrainer.generator.register_forward_pre_hook(lambda module, args: batches.append(args[0].shape[0]))
    retrainer.train_g_step()
    # n_critic = 3: two D-only batches of d_batch_size, then the G batch (two-stage: its D batch first).
    assert batches == expected


def test_a_finished_retrain_extended_on_resume_equals_one_long_run(tmp_path, capsys):
    """`autogan retrain --resume DIR --set train.g_steps=N` continues to N steps, as if N had been asked from the start."""
    arch = str(AUTOGAN_TOP1)
    recipe = [f"--set={o}" for o in TINY + ["eval.every=10", "eval.at_start=false", "eval.score_raw=false", "eval.samples=100"]]
    short, long = tmp_path / "short", tmp_path / "long"
    assert main(["retrain", "--arch", arch, "--out", str(short), "--set=train.g_steps=20", *recipe]) == 0
    assert main(["retrain", "--resume", str(short), "--set", "train.g_steps=30"]) == 0
    assert main(["retrain", "--arch", arch, "--out", str(long), "--set=train.g_steps=30", *recipe]) == 0
    capsys.readouterr()
    extended, direct = (load_retrain_checkpoint(d / "checkpoints" / "latest.pt") for d in (short, long))
    assert extended["step"] == direct["step"] == 30
    for key in ("generator", "generator_ema", "discriminator"):
        for name, value in direct[key].items():
            assert torch.equal(extended[key][name], value), f"{key}.{name}"
    assert load_retrain_config(str(short / "config.toml"), []).train.g_steps == 30
    assert [r["g_step"] for r in read_metrics(short) if r["weights"] == "ema"] == [10, 20, 30]


def test_a_resume_may_change_only_the_length_and_never_go_back(tmp_path, capsys):
    out = tmp_path / "run"
    recipe = [f"--set={o}" for o in TINY + ["eval.every=10", "eval.at_start=false", "eval.score_raw=false", "eval.samples=100"]]
    assert main(["retrain", "--arch", str(AUTOGAN_TOP1), "--out", str(out), "--set=train.g_steps=20", *recipe]) == 0
    capsys.readouterr()
    for overrides, expected in ((["train.n_critic=3"], "except train.g_steps"), (["train.g_steps=10"], "behind its checkpoint at G step 20")):
        code = main(["retrain", "--resume", str(out), *[f"--set={o}" for o in overrides]])
        assert expected in assert_one_line_error(code, capsys.readouterr().err, "retrain")
    assert load_retrain_config(str(out / "config.toml"), []).train.g_steps == 20
