"""What a device gets: backend switches and the Adam implementation, on the CPU and on a (mocked) CUDA device.

No GPU is needed: the switches are plain process flags, fused Adam is also built on CPU
tensors, and the workers' models are kept on the CPU while their device says CUDA.
"""

from __future__ import annotations

import pytest
import torch

from autogan.device import BackendSettings, adam, backend_settings, configure_backends

CUDA = torch.device("cuda")
CPU = torch.device("cpu")


def backend_state() -> tuple:
    return (
        torch.backends.cudnn.benchmark,
        torch.backends.cuda.matmul.fp32_precision,
        torch.backends.cudnn.conv.fp32_precision,
    )


@pytest.fixture
def restored_backends():
    """Put the process flags back as they were, so no other test runs under TF32 or autotuning."""
    before = backend_state()
    yield
    torch.backends.cudnn.benchmark = before[0]
    torch.backends.cuda.matmul.fp32_precision = before[1]
    torch.backends.cudnn.conv.fp32_precision = before[2]


@pytest.mark.parametrize("tf32", [True, False])
def test_the_cpu_keeps_every_torch_default(tf32, restored_backends):
    before = backend_state()
    assert backend_settings(CPU, tf32=tf32) == BackendSettings()
    assert configure_backends(CPU, tf32=tf32) == BackendSettings()
    assert backend_state() == before


@pytest.mark.parametrize("tf32, precision", [(True, "tf32"), (False, "ieee")])
def test_cuda_autotunes_and_follows_run_tf32(tf32, precision, restored_backends):
    assert backend_settings(CUDA, tf32=tf32) == BackendSettings(cudnn_benchmark=True, fp32_precision=precision)
    configure_backends(CUDA, tf32=tf32)
    assert backend_state() == (True, precision, precision)


def implementation(optimizer: torch.optim.Optimizer) -> tuple:
    return optimizer.defaults["fused"], optimizer.defaults["foreach"]


def test_adam_is_fused_on_cuda_and_foreach_elsewhere():
    params = [torch.nn.Parameter(torch.zeros(3))]
    assert implementation(adam(params, CUDA, lr=1e-3)) == (True, None)
    assert implementation(adam(params, CPU, lr=1e-3)) == (None, True)
    assert adam(params, CUDA, lr=1e-3, betas=(0.0, 0.9)).defaults["betas"] == (0.0, 0.9)


def _adam_trajectory(make_optimizer) -> tuple[list[torch.Tensor], dict]:
    """Parameters and Adam state after 30 steps of gradients spanning 1e-2..1e2, some parameters
    without a gradient in a step (a supernet trains only the sampled architecture's)."""
    generator = torch.Generator().manual_seed(0)
    shapes = [(8, 3, 3, 3), (8,), (1, 8), (16, 8, 3, 3), (5,)]
    params = [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in shapes]
    optimizer = make_optimizer(params)
    for step in range(30):
        for index, param in enumerate(params):
            skipped = (index + step) % 3 == 0
            param.grad = None if skipped else torch.randn(param.shape, generator=generator) * 10.0 ** (step % 5 - 2)
        optimizer.step()
    return [p.detach() for p in params], [optimizer.state[p] for p in params]


@pytest.mark.parametrize("betas", [(0.0, 0.9), (0.5, 0.999)])
def test_cpu_adam_is_bit_identical_to_torchs_default(betas):
    # foreach on the CPU is a host-cost change only: the search's CPU results must not move.
    mine = _adam_trajectory(lambda params: adam(params, CPU, lr=2e-4, betas=betas))
    default = _adam_trajectory(lambda params: torch.optim.Adam(params, lr=2e-4, betas=betas))
    for got, want in zip(mine[0], default[0]):
        assert torch.equal(got, want)
    for got, want in zip(mine[1], default[1]):
        assert got.keys() == want.keys()
        assert all(torch.equal(got[key], want[key]) for key in want)


@pytest.fixture
def tiny_search_config():
    from autogan.config import load_config

    overrides = ["model.ch=8", "model.df=8", "model.latent_dim=16", "train.batch_size=8", "run.threads=1"]
    return load_config("digits", overrides)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_the_supernet_trainer_builds_its_optimizers_for_its_device(device, tiny_search_config, monkeypatch, restored_backends):
    import autogan.search._supernet_trainer as supernet_trainer

    trainer = supernet_trainer.SupernetTrainer(tiny_search_config.to_dict())
    assert implementation(trainer.opt_g) == implementation(trainer.opt_d) == (None, True)
    # The models stay on the CPU; only the device the trainer believes in changes.
    build = supernet_trainer.build_models
    monkeypatch.setattr(supernet_trainer, "build_models", lambda config, space, seed, _device: build(config, space, seed, CPU))
    trainer.device = torch.device(device)
    before = backend_state()
    trainer._build()
    expected = (True, None) if device == "cuda" else (None, True)
    assert implementation(trainer.opt_g) == implementation(trainer.opt_d) == expected
    assert backend_state() == ((True, "tf32", "tf32") if device == "cuda" else before)


def test_the_retrainer_builds_fused_adam_and_sets_the_switches_on_cuda(tmp_path, monkeypatch, restored_backends):
    from search_spaces import SearchSpace

    import autogan.retrain._loop as loop
    from autogan.config import load_retrain_config
    from autogan.retrain._directory import RetrainDirectory

    config = load_retrain_config(
        None, ["model.ch=8", "model.df=8", "model.latent_dim=16", "run.tf32=false", "data.dataset=digits", "data.channels=1"]
    )
    monkeypatch.setattr(loop, "resolve_device", lambda name: CUDA)
    # The models stay on the CPU: moving them is the one step a machine without CUDA cannot take.
    monkeypatch.setattr(torch.nn.Module, "to", lambda self, *args, **kwargs: self)
    arch = SearchSpace(num_cells=3).sample(0)
    retrainer = loop.Retrainer(RetrainDirectory(tmp_path / "run"), config, arch)
    assert implementation(retrainer.opt_g) == implementation(retrainer.opt_d) == (True, None)
    assert backend_state() == (True, "ieee", "ieee")
