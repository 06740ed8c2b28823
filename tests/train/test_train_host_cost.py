"""A training step's host cost: how many aten ops it dispatches (on a GPU, about one launch each).

Counts, not times: they do not depend on the machine's load.  ``bench/host_cost.py``
measures the time these ops and their Python cost per step, before and after.
"""

from __future__ import annotations

import pytest
import torch

from autogan.device import adam
from autogan.nn import Discriminator, SupernetGenerator
from autogan.train import one_stage_step
from search_spaces import AUTOGAN_TOP1, SearchSpace

from torch_probes import top_level_aten_ops

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def models():
    G = SupernetGenerator(SearchSpace(), ch=4, latent_dim=8, bottom_width=2, seed=1)
    D = Discriminator(df=4, seed=2)
    opt_g = adam(G.parameters(), CPU, lr=1e-4, betas=(0.0, 0.9))
    opt_d = adam(D.parameters(), CPU, lr=1e-4, betas=(0.0, 0.9))
    generator = torch.Generator().manual_seed(0)
    real = torch.rand(4, 3, 16, 16, generator=generator) * 2 - 1  # (B, 3, 16, 16): stage 3 at bottom width 2
    z = torch.randn(4, 8, generator=generator)
    return G, D, opt_g, opt_d, real, z


# Before the host-cost work (issue 22): 669 and 1078.  The limits leave room for small
# changes of torch's own op counts, not for a return of what was cut.
@pytest.mark.parametrize("merged, limit", [(False, 500), (True, 720)], ids=["D-only", "merged"])
def test_a_stage3_one_stage_step_dispatches_few_aten_ops(models, merged, limit):
    G, D, opt_g, opt_d, real, z = models

    def step():
        one_stage_step(G, D, opt_g, opt_d, real, z, AUTOGAN_TOP1, "hinge", update_g=merged)

    step()  # Adam creates its state on a parameter's first step
    assert top_level_aten_ops(step) <= limit
