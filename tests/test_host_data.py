"""What crosses to the driver is host data: a GPU trainer's state loads on a head without CUDA.

There is no GPU here, so device memory is imitated where it matters: pickling. A storage is
pickled with a location tag, and a registered tagger can say ``cuda:0`` for the live model's
storages; unpickling such a tag without CUDA fails exactly as a CPU-only Ray head does
("Attempting to deserialize object on a CUDA device").
"""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict, namedtuple

import pytest
import torch

from autogan.checkpoints import load_checkpoint_file
from autogan.config import load_config
from autogan.device import to_host
from autogan.search import SupernetTrainer

CUDA_UNPICKLE_ERROR = "Attempting to deserialize object on a CUDA device"

Pair = namedtuple("Pair", "left right")


@pytest.fixture
def on_cuda(monkeypatch):
    """``mark(tensors)``: from now on those tensors' storages pickle as if they lived on ``cuda:0``."""
    marked: set[int] = set()

    def tagger(storage):
        return "cuda:0" if storage.data_ptr() in marked else None

    monkeypatch.setattr(torch.serialization, "_package_registry", list(torch.serialization._package_registry))
    torch.serialization.register_package(0, tagger, lambda obj, location: None)

    def mark(tensors):
        marked.update(t.untyped_storage().data_ptr() for t in tensors if t.numel())

    return mark


def tensors_in(payload):
    if isinstance(payload, torch.Tensor):
        yield payload
    elif isinstance(payload, dict):
        for value in payload.values():
            yield from tensors_in(value)
    elif isinstance(payload, (list, tuple)):
        for value in payload:
            yield from tensors_in(value)


def test_the_imitation_fails_as_a_head_without_cuda_does(on_cuda):
    live = torch.arange(4.0)
    on_cuda([live])
    with pytest.raises(RuntimeError, match=CUDA_UNPICKLE_ERROR):
        pickle.loads(pickle.dumps({"w": live}))


def test_to_host_copies_every_tensor_of_a_nested_payload_and_passes_the_rest():
    weight = torch.nn.Parameter(torch.randn(3, 2))
    payload = {
        "model": OrderedDict(weight=weight, count=torch.tensor(7, dtype=torch.long), mask=torch.tensor([True, False])),
        "optimizer": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(3, 2)}},
                      "param_groups": [{"lr": 1e-4, "betas": (0.0, 0.9), "params": [0]}]},
        "half": torch.ones(2, dtype=torch.bfloat16),
        "stream": torch.ByteTensor([1, 2, 3]),
        "pair": Pair(torch.zeros(1), "text"),
        "plain": [1, 2.5, None, "s"],
    }
    host = to_host(payload)
    assert type(host["model"]) is OrderedDict and isinstance(host["pair"], Pair)
    assert host["optimizer"]["param_groups"] == payload["optimizer"]["param_groups"]
    assert host["plain"] == payload["plain"] and host["pair"].right == "text"
    originals, copies = list(tensors_in(payload)), list(tensors_in(host))
    assert len(originals) == len(copies) == 8
    for original, copied in zip(originals, copies):
        assert copied.device.type == "cpu" and copied.dtype == original.dtype
        assert torch.equal(copied, original.detach())
        assert copied.untyped_storage().data_ptr() != original.untyped_storage().data_ptr()
        assert not copied.requires_grad


@pytest.fixture(scope="module")
def trained():
    config = load_config("digits", [
        "model.ch=8", "model.df=8", "model.latent_dim=16", "train.batch_size=8", "train.n_critic=1",
        "run.threads=1", "search.num_cells=2", "search.stage_iterations=[1, 1]",
    ])
    trainer = SupernetTrainer(config.to_dict())
    archs = [trainer.space.prefix(trainer.space.sample(seed), 1) for seed in range(2)]
    trainer.train(1, archs)  # so that both optimizers hold state
    return trainer


def live_tensors(trainer):
    yield from trainer.generator.state_dict().values()
    yield from trainer.discriminator.state_dict().values()
    for optimizer in (trainer.opt_g, trainer.opt_d):
        yield from tensors_in(optimizer.state_dict()["state"])


def test_the_trainer_state_is_a_copy_that_later_training_does_not_change(trained):
    state = trained.state_dict()
    kept = copy.deepcopy(state)
    with torch.no_grad():
        for tensor in live_tensors(trained):
            tensor.add_(1)
    try:
        for before, now in zip(tensors_in(kept), tensors_in(state), strict=True):
            assert now.device.type == "cpu"
            assert torch.equal(before, now)
    finally:
        with torch.no_grad():
            for tensor in live_tensors(trained):
                tensor.sub_(1)


def test_a_trainer_state_from_device_memory_unpickles_where_there_is_no_cuda(trained, on_cuda):
    on_cuda(live_tensors(trained))
    with pytest.raises(RuntimeError, match=CUDA_UNPICKLE_ERROR):  # the live tensors, as Ray would send them
        pickle.loads(pickle.dumps(trained.generator.state_dict()))
    received = pickle.loads(pickle.dumps(trained.state_dict()))  # what the driver gets from ray.get
    assert received["d_steps"] == trained.d_steps
    assert all(t.device.type == "cpu" for t in tensors_in(received))
    weights = pickle.loads(pickle.dumps(trained.weights()))
    assert weights.keys() == trained.generator.state_dict().keys()


def test_a_checkpoint_written_on_cuda_loads_on_a_machine_without_it(tmp_path, on_cuda):
    from autogan.retrain._checkpoint import CHECKPOINT_FORMAT, load_retrain_checkpoint

    weights = torch.randn(4)
    on_cuda([weights])
    path = tmp_path / "latest.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "version": 1, "generator": weights}, path)
    with pytest.raises(RuntimeError, match=CUDA_UNPICKLE_ERROR):
        torch.load(path, weights_only=True)
    for loaded in (load_checkpoint_file(path), load_retrain_checkpoint(path)):
        assert loaded["generator"].device.type == "cpu"
        assert torch.equal(loaded["generator"], weights)


def test_a_host_state_resumes_onto_the_trainers_own_device(trained):
    resumed = SupernetTrainer(trained.config.to_dict())
    resumed.load_state_dict(trained.state_dict())
    device = resumed.device
    assert all(p.device == device for p in resumed.generator.parameters())
    for optimizer in (resumed.opt_g, resumed.opt_d):
        for param, state in optimizer.state.items():
            assert state["exp_avg"].device == param.device == device
    for mine, theirs in zip(resumed.generator.state_dict().values(), trained.generator.state_dict().values()):
        assert torch.equal(mine, theirs)
