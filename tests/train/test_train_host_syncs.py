"""Training steps and the trainer loop never make the host wait for the device between reads."""

from __future__ import annotations

import copy
import re

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from autogan.config import load_config
from autogan.errors import ConfigError
from autogan.nn import Discriminator, SupernetGenerator
from autogan.search import SupernetTrainer
from autogan.train import StepOptions, one_stage_step
from search_spaces import AUTOGAN_TOP1, SearchSpace

# On CUDA each of these waits for the device: a scalar read (.item(), float(t), bool(t)), or an
# output whose size depends on the data.  A Python-level tolist/item/numpy/cpu on a CPU tensor
# dispatches no aten op, so the profiler's Python frames catch it.
READ_OPS = {"aten::_local_scalar_dense", "aten::is_nonzero", "aten::nonzero"}
PYTHON_READ = re.compile(r"^<built-in method (tolist|item|numpy|cpu) of Tensor object")
OPTIMIZER_STEP = re.compile(r"^Optimizer\.step#")


def _ancestors(event):
    parent = event.cpu_parent
    while parent is not None:
        yield parent
        parent = parent.cpu_parent


def host_reads(call) -> list[str]:
    """The reads of the device in ``call()``, outside ``Optimizer.step`` (Adam reads its own CPU step count).

    Aten ops by name, Python-level reads as ``tolist``, ``item``, ...
    """
    with profile(activities=[ProfilerActivity.CPU], with_stack=True) as prof:
        call()
    reads = []
    for event in prof.events():
        python = PYTHON_READ.match(event.name)
        if event.name not in READ_OPS and not python:
            continue
        if not any(OPTIMIZER_STEP.match(a.name) for a in _ancestors(event)):
            reads.append(python.group(1) if python else event.name)
    return reads


SPACE = SearchSpace()
BATCH = 8
LATENT = 16


@pytest.fixture(scope="module")
def step_setup():
    G = SupernetGenerator(SPACE, ch=8, latent_dim=LATENT, bottom_width=2, seed=1)
    D = Discriminator(df=8, seed=2)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.0, 0.9))
    generator = torch.Generator().manual_seed(0)
    real = torch.rand(BATCH, 3, 16, 16, generator=generator) * 2 - 1  # (B, 3, 16, 16)
    z = torch.randn(BATCH, LATENT, generator=generator)
    return G, D, opt_g, opt_d, real, z


def test_the_check_sees_every_kind_of_read():
    x = torch.ones(3)
    assert host_reads(lambda: bool(x.all())) == ["aten::is_nonzero", "aten::_local_scalar_dense"]
    assert host_reads(lambda: float(x.sum())) == ["aten::_local_scalar_dense"]
    assert host_reads(lambda: x.nonzero()) == ["aten::nonzero"]
    assert host_reads(lambda: x.tolist()) == ["tolist"]


@pytest.mark.parametrize(
    "loss, merged, inactive",
    [
        ("hinge", False, False),
        ("bce", False, False),
        ("hinge", True, False),
        ("hinge", True, True),
        ("bce", True, False),
    ],
    ids=["hinge-d-only", "bce-d-only", "hinge-merged", "hinge-merged-inactive", "bce-merged"],
)
def test_one_stage_steps_read_nothing(step_setup, loss, merged, inactive):
    G, D, opt_g, opt_d, real, z = step_setup
    handle = None
    if inactive:
        # Moves the median fake to d = -1: about half the fakes get no D gradient, so the
        # merged step's inactive handling has work to do.
        with torch.no_grad():
            center = float(D(G(z, AUTOGAN_TOP1)).median())
        handle = D.register_forward_hook(lambda module, inputs, out: out - center - 1.0)
    stats = []
    try:
        reads = host_reads(
            lambda: stats.append(one_stage_step(G, D, opt_g, opt_d, real, z, AUTOGAN_TOP1, loss, update_g=merged))
        )
    finally:
        if handle is not None:
            handle.remove()
    assert reads == []
    # Read after the profile, as a caller would.
    assert (stats[0].loss_g is None) == (not merged)
    assert (0 < stats[0].inactive < BATCH) == inactive


def test_the_extra_pass_fallback_keeps_its_one_read(step_setup):
    G, D, opt_g, opt_d, real, z = step_setup
    options = StepOptions(inactive="extra-pass")
    reads = host_reads(lambda: one_stage_step(G, D, opt_g, opt_d, real, z, AUTOGAN_TOP1, "hinge", options=options))
    assert reads == ["aten::nonzero"]


def _trainer(*overrides: str) -> SupernetTrainer:
    config = load_config("digits", [
        "model.ch=8", "model.df=8", "model.latent_dim=16", "train.batch_size=8", "train.n_critic=2",
        "run.threads=1", "search.num_cells=2", "search.stage_iterations=[1, 1]", *overrides,
    ])
    return SupernetTrainer(config.to_dict())


def _archs(trainer: SupernetTrainer, n: int, stage: int = 1):
    return [trainer.space.prefix(trainer.space.sample(seed), stage) for seed in range(n)]


def test_the_trainer_reads_once_per_chunk():
    trainer = _trainer("train.stats_every=2")
    archs = _archs(trainer, 4)
    trainer.train(1, archs[:1])  # Adam's state and spectral norm's first steps, unprofiled
    reads = host_reads(lambda: trainer.train(1, archs[1:]))
    # 3 steps (D-only, merged, D-only): a chunk of 2, then the iteration's last step; each read is one tolist.
    assert reads == ["tolist"] * 2


def test_reading_every_k_steps_reports_as_reading_every_step():
    archs = _archs(_trainer(), 7)
    every_step, chunked = _trainer("train.stats_every=1"), _trainer("train.stats_every=3")
    first, second = every_step.train(1, archs), chunked.train(1, archs)
    for key in ("d_steps", "loss_d", "loss_g", "collapsed"):
        assert first[key] == second[key], key
    assert first["d_steps"] == 7 and not first["collapsed"]
    for key, value in every_step.generator.state_dict().items():
        assert torch.equal(value, chunked.generator.state_dict()[key]), key


def test_a_collapse_in_a_chunk_stops_the_iteration_at_the_chunk_end():
    # A threshold no window passes below: the monitor reports a collapse at the 4th step.
    collapsing = ("train.reset_window=4", "train.reset_threshold=1e9")
    archs = _archs(_trainer(), 10)
    every_step = _trainer(*collapsing, "train.stats_every=1")
    chunked = _trainer(*collapsing, "train.stats_every=3")
    first, second = every_step.train(1, archs), chunked.train(1, archs)
    assert first["collapsed"] and second["collapsed"]
    # The report stops at the collapsing step either way ...
    assert first["d_steps"] == second["d_steps"] == 4
    assert (first["loss_d"], first["loss_g"]) == (second["loss_d"], second["loss_g"])
    # ... but the chunked trainer ran to the end of the chunk that held it (steps 4..6).
    assert (every_step.d_steps, chunked.d_steps) == (4, 6)


def test_the_stream_is_on_the_trainer_device_and_resumes_exactly():
    trainer = _trainer("train.stats_every=2")
    assert trainer.stream.device == trainer.device
    archs = _archs(trainer, 6)
    trainer.train(1, archs[:3])
    resumed = _trainer("train.stats_every=2")
    # A copy, as a checkpoint on disk is: Adam's load keeps the very tensors it is given.
    resumed.load_state_dict(copy.deepcopy(trainer.state_dict()))
    after, again = trainer.train(1, archs[3:]), resumed.train(1, archs[3:])
    assert (after["loss_d"], after["loss_g"]) == (again["loss_d"], again["loss_g"])
    state = trainer.state_dict()
    state["stream_device"] = "cuda"
    with pytest.raises(ConfigError, match="resume with run.device=cuda"):
        _trainer().load_state_dict(state)
