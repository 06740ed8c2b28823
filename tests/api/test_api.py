"""The public API: the README's example runs as written; load_generator reads every place a generator is kept."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import autogan
from autogan.errors import UserError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "retrain"))

from retrain_helpers import write_run  # noqa: E402


def readme_block(name: str) -> str:
    """The python code block of README.md between ``<!-- NAME: start -->`` and ``<!-- NAME: end -->``."""
    text = (REPO / "README.md").read_text()
    found = re.search(rf"<!-- {name}: start -->\s*```python\n(.*?)```\s*<!-- {name}: end -->", text, re.S)
    assert found, f"README.md has no {name} block"
    return found.group(1)


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> dict:
    """The README's API example, exactly as written, run in a fresh directory; its variables."""
    where = tmp_path_factory.mktemp("readme")
    namespace: dict = {"__name__": "__readme__"}
    before = Path.cwd()
    import os

    os.chdir(where)
    try:
        exec(compile(readme_block("api-example"), "README.md", "exec"), namespace)
    finally:
        os.chdir(before)
    namespace["where"] = where
    return namespace


@pytest.mark.slow
def test_the_readme_example_searches_retrains_and_samples(example):
    result, trained, images = example["result"], example["trained"], example["images"]
    assert isinstance(result, autogan.SearchResult) and result.run_dir == Path("runs/api-demo")
    assert result.ranking and all(r.basis == "final" for r in result.ranking)
    assert [r.rank for r in result.ranking] == list(range(1, len(result.ranking) + 1))
    assert [s.stage for s in result.learning] == [1, 2]
    # Retrained: the search's rank 1, where `autogan retrain RUN --rank 1` puts it, scored at its last step.
    assert isinstance(trained, autogan.RetrainResult) and trained.arch == result.best
    assert trained.out_dir.parent == result.run_dir / "retrain" and trained.final.g_step == 20
    assert images.shape == (16, 1, 16, 16) and images.min() >= -1 and images.max() <= 1
    assert example["generator"].info["score"]["fid"] == pytest.approx(trained.final.fid)


@pytest.mark.slow
def test_every_way_to_name_a_generator_loads_the_same_one(example, tmp_path):
    from autogan.export import export_generator

    where, trained = example["where"], example["trained"]
    checkpoint = where / trained.final_checkpoint
    export_generator(checkpoint, tmp_path / "exported")
    sources = {
        "run rank": autogan.load_generator(where / example["result"].run_dir, rank=1),
        "retrain directory": autogan.load_generator(where / trained.out_dir),
        "checkpoint": autogan.load_generator(checkpoint),
        "export": autogan.load_generator(tmp_path / "exported"),
    }
    reference = sources["checkpoint"].sample(8, seed=3)
    for name, generator in sources.items():
        assert isinstance(generator, torch.nn.Module) and not generator.training, name
        assert torch.equal(generator.sample(8, seed=3), reference), name
    generator = sources["export"]
    assert not torch.equal(generator.sample(8, seed=4), reference)  # another seed, other images
    # Truncation draws latents inside [-tau, tau]: the images move toward the typical one.
    spread = lambda images: images.flatten(1).std(0).mean().item()  # noqa: E731
    assert spread(generator.sample(200, truncation=0.2, seed=0)) < spread(generator.sample(200, seed=0))
    state = torch.get_rng_state()
    generator.sample(4)  # fresh images, without touching the global RNG
    assert torch.equal(state, torch.get_rng_state())


def test_a_rank_that_is_not_retrained_says_how_to_retrain_it(tmp_path):
    run = write_run(tmp_path / "run")
    with pytest.raises(UserError, match=r"rank 2 of .* is not retrained yet.*autogan\.retrain\("):
        autogan.load_generator(run, rank=2)
    with pytest.raises(UserError, match="pass rank=N"):
        autogan.load_generator(run)
    with pytest.raises(UserError, match=r"--rank 3: run .* ranks 2 architectures"):
        autogan.load_generator(run, rank=3)


def test_an_unfinished_retraining_is_not_taken_for_the_finished_one(tmp_path):
    from search_spaces import AUTOGAN_TOP1

    from autogan.naming import architecture_slug

    run = write_run(tmp_path / "run")
    started = run / "retrain" / architecture_slug(AUTOGAN_TOP1) / "checkpoints"
    started.mkdir(parents=True)
    (started / "latest.pt").write_bytes(b"")
    (started.parent / "arch.json").write_text("{}")
    with pytest.raises(UserError, match="has not finished.*--resume"):
        autogan.load_generator(run, rank=1)


@pytest.mark.parametrize(
    "call, needle",
    [
        (lambda: autogan.search(config="digits", out="x", backend="dask"), "backend='dask': choose one of 'ray', 'inprocess'"),
        (lambda: autogan.search(config="digits", out="x", overrides="train.n_critic=1"), "pass a list"),
        (lambda: autogan.search(resume=True), "pass out"),
        (lambda: autogan.retrain(42), "got a int"),
        (lambda: autogan.load_generator("no/such/checkpoint.pt"), "not found"),
        (lambda: autogan.load_generator("no/such.pt", rank=1), "drop rank"),
    ],
)
def test_bad_arguments_get_an_error_that_names_them(call, needle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=re.escape(needle)):
        call()
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def test_import_autogan_does_not_import_torch():
    code = "import sys, autogan; autogan.Architecture; autogan.SearchSpace; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"


def test_search_and_retrain_are_their_subpackages_and_call_the_api():
    import autogan.retrain._loop as loop
    from autogan import api

    assert sys.modules["autogan.search"] is autogan.search and callable(autogan.search)
    assert autogan.retrain.RetrainResult is loop.RetrainResult is autogan.RetrainResult
    assert inspect.signature(autogan.search) == inspect.signature(api.search)
    assert inspect.signature(autogan.retrain) == inspect.signature(api.retrain)
    assert {"search", "retrain", "load_generator", "Architecture", "SearchSpace"} <= set(autogan.__all__)
