"""Tiny search configs: the real loop, sized to run in seconds on 2 cores."""

import pytest

from autogan.config import load_config

TINY = [
    "model.ch=8",
    "model.df=8",
    "model.latent_dim=16",
    "train.batch_size=8",
    "train.n_critic=2",
    "train.d_steps_per_iteration=6",
    "search.reward_samples=40",
    "search.reward_splits=2",
    "search.archs_per_iteration=3",
    "search.beam_candidates=3",
    "search.beam_width=2",
    "search.calibration_samples=16",
    "search.top_k=2",
    "search.rescore_seeds=2",
    "run.threads=1",
]


def tiny_overrides(*extra: str, cells: int = 2, iterations: int = 2) -> list[str]:
    return TINY + [f"search.num_cells={cells}", f"search.stage_iterations={[iterations] * cells}", *extra]


@pytest.fixture(scope="session")
def tiny_overrides_for():
    return tiny_overrides


@pytest.fixture
def tiny_config():
    def make(*extra: str, cells: int = 2, iterations: int = 2):
        return load_config("digits", tiny_overrides(*extra, cells=cells, iterations=iterations))

    return make
