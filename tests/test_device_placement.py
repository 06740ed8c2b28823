"""A worker's device is Ray's assignment, said out loud; Inception stays in IEEE float32.

The choice is a pure function of what was asked and what the worker was given, so every
case is checked here without a GPU; the processes' own view (CUDA hidden from a worker Ray
gave no GPU) is checked in a Ray actor.
"""

from __future__ import annotations

import os

import pytest
import torch

from torch_probes import precision_flags

from autogan.device import choose_device, describe_workers, ieee_float32, place_worker
from autogan.errors import ConfigError

DRIVER, TORCH_CUDA = "535.104.05", "13.0"

# (requested, Ray's GPU ids or None outside Ray, CUDA available) -> device, or the error's words.
CASES = [
    ("auto", None, True, "cuda"),
    ("auto", None, False, "cpu"),
    ("auto", [], True, "cpu"),  # a GPU Ray did not count is someone else's
    ("auto", [], False, "cpu"),
    ("auto", [0], True, "cuda"),
    ("auto", ["1"], True, "cuda"),  # Ray narrowed CUDA_VISIBLE_DEVICES to it
    ("auto", [0], False, "error: Ray assigned this worker GPU 0, but torch cannot start CUDA"),
    ("cuda", None, True, "cuda"),
    ("cuda", None, False, "error: no CUDA device is visible"),
    ("cuda", [], True, "error: Ray assigned this worker no GPU"),
    ("cuda", [], False, "error: Ray assigned this worker no GPU"),
    ("cuda", [0], True, "cuda"),
    ("cuda", [0], False, "error: torch cannot start CUDA"),
    ("cuda:1", None, True, "cuda:1"),
    ("cuda:1", [], True, "error: Ray assigned this worker no GPU"),
    ("cpu", None, True, "cpu"),
    ("cpu", [], True, "cpu"),
    ("cpu", [0], True, "cpu"),  # allowed here; the driver refuses a GPU left idle (check_placements)
    ("cpu", [0], False, "cpu"),
]


@pytest.mark.parametrize("requested, gpu_ids, cuda_available, expected", CASES)
def test_every_case_of_the_device_choice(requested, gpu_ids, cuda_available, expected):
    def choose():
        return choose_device(requested, gpu_ids=gpu_ids, cuda_available=cuda_available,
                             driver_version=DRIVER, torch_cuda=TORCH_CUDA)

    if expected.startswith("error: "):
        with pytest.raises(ConfigError, match=expected.removeprefix("error: ")) as caught:
            choose()
        message = str(caught.value)
        assert "\n" not in message and message.startswith(f"run.device={requested!r}")
    else:
        assert choose() == torch.device(expected)


def test_a_gpu_cuda_cannot_start_names_the_driver_and_torchs_cuda():
    with pytest.raises(ConfigError) as caught:
        choose_device("auto", gpu_ids=[0], cuda_available=False, driver_version=DRIVER, torch_cuda=TORCH_CUDA)
    message = str(caught.value)
    assert f"host NVIDIA driver {DRIVER}" in message and f"built for CUDA {TORCH_CUDA}" in message
    assert "run.trainer_gpus=0 and run.evaluator_gpus=0" in message
    with pytest.raises(ConfigError, match="host NVIDIA driver not found; torch .* is built without CUDA"):
        choose_device("auto", gpu_ids=[0], cuda_available=False, driver_version=None, torch_cuda=None)


def test_a_worker_given_no_gpu_hides_cuda_before_torch_looks(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: pytest.fail("asked CUDA, which may start it on GPU 0"))
    placement = place_worker("auto", [])
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""
    assert (placement.device, placement.gpu, placement.assigned_gpus) == ("cpu", None, ())


def test_outside_ray_auto_keeps_todays_rule(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    placement = place_worker("auto", None)
    assert (placement.device, placement.assigned_gpus) == ("cpu", None)
    assert placement.torch == torch.__version__


def test_the_workers_line_groups_alike_workers():
    gpu = {"device": "cuda:0", "gpu": "NVIDIA H200", "assigned_gpus": ["0"], "host": "node-a", "torch": "2", "torch_cuda": "13.0"}
    workers = [{"role": "trainer", **gpu}, {"role": "evaluator", **gpu}, {"role": "evaluator", **gpu}]
    assert describe_workers(workers) == (
        "trainer cuda:0 (NVIDIA H200), Ray GPUs [0] on node-a; 2 evaluators cuda:0 (NVIDIA H200), Ray GPUs [0] on node-a"
    )


def test_ieee_float32_holds_inside_and_restores_run_tf32_after(tf32_on):
    with ieee_float32():
        assert precision_flags() == ("ieee", "ieee")
    assert precision_flags() == ("tf32", "tf32")
    with pytest.raises(KeyError), ieee_float32():
        raise KeyError("a failing batch")
    assert precision_flags() == ("tf32", "tf32")
