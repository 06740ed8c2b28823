"""Who proposes architectures: AutoGAN's RNN controller, beam search and baselines.

Imports only ``search_spaces`` among this project's packages (plus torch, numpy, optuna).

Multi-level search, as the search loop drives it::

    controller = get_controller("rnn", space, seed)
    beam = BeamSearch(space)                       # K = 5 of M = 10
    for stage in range(1, space.num_cells + 1):
        controller.set_stage(stage)
        prefix = beam if stage > 1 else None       # each proposal draws its prefix
        for iteration in ...:
            train_supernet(lambda: controller.sample_architectures(1, prefix=prefix)[0])
            proposals = controller.sample(n, prefix=prefix)
            controller.update(proposals, rewards_for(proposals))   # None for a failed one
        candidates = controller.sample(beam.num_candidates, prefix=prefix)
        beam.update(candidates, rewards_for(candidates))
    best = beam.best.arch

Checkpoint ``controller.state_dict()`` and ``beam.state_dict()`` together; both load with
``torch.load(weights_only=True)``.  ``controller.set_stage`` resets the RNN's baseline only
when the stage changes; ``controller.on_supernet_reset()`` after a dynamic reset does too.
"""

from controllers._base import Controller, Proposal, UpdateStats
from controllers._beam import BeamSearch
from controllers._budget import SizeBudget
from controllers._registry import CONTROLLERS, get_controller, register_controller

__all__ = [
    "BeamSearch",
    "CONTROLLERS",
    "Controller",
    "Proposal",
    "SizeBudget",
    "UpdateStats",
    "get_controller",
    "register_controller",
]
