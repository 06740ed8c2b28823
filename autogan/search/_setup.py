"""What a search is made of, built from its config: the controller, the backend and the workers."""

from __future__ import annotations

from typing import Any

from search_spaces import SearchSpace

from autogan.config import Config
from autogan.errors import ConfigError, first_line, shown
from autogan.search._reward_evaluator import RewardEvaluator
from autogan.search._supernet_trainer import SupernetTrainer
from autogan.seeding import SeedPurpose, derived_seed


def controller_options(search: Any) -> dict[str, Any]:
    if search.controller == "rnn":
        return {
            "lr": search.controller_lr,
            "entropy_weight": search.entropy_weight,
            "baseline_decay": search.baseline_decay,
            "update_rule": search.controller_update,
            "epochs": search.controller_epochs,
        }
    return {}


def make_controller(config: Config, space: SearchSpace, budget: Any = None) -> Any:
    """The configured controller; with a ``budget`` (a ``SizeBudget``) it proposes only within it."""
    from controllers import get_controller

    search = config.search
    options = controller_options(search)
    if budget is not None:
        options["budget"] = budget
    try:
        return get_controller(
            search.controller,
            space,
            seed=derived_seed(config.run.seed, SeedPurpose.CONTROLLER) % 2**31,
            **options,
        )
    except ValueError as exc:
        raise ConfigError(f"search.controller={search.controller!r}: {exc}") from None


def connect_backend(run: Any) -> Any:
    from workers import ClusterUnreachable, make_backend

    try:
        return make_backend(run.backend, **({"address": run.address or None} if run.backend == "ray" else {}))
    except ConnectionError as exc:  # ClusterUnreachable, or Ray's own failure to find a cluster
        reason = str(exc) if isinstance(exc, ClusterUnreachable) else first_line(exc)
        raise ConfigError(
            f"--address {shown(run.address)}: {reason}; start the cluster (`ray start --head`), check the host and "
            "port, or leave --address out to run on this machine"
        ) from None


def start_trainer(backend: Any, config_dict: dict[str, Any], run: Any) -> Any:
    from workers import Resources

    # No automatic re-run of trainer calls: a restarted trainer must first get its checkpoint back.
    return backend.actor(
        SupernetTrainer,
        config_dict,
        resources=Resources(num_cpus=run.trainer_cpus, num_gpus=run.trainer_gpus),
        retry_calls=False,
    )


def start_evaluators(backend: Any, config_dict: dict[str, Any], run: Any) -> list[Any]:
    from workers import Resources

    return [
        backend.actor(RewardEvaluator, config_dict, resources=Resources(num_cpus=run.evaluator_cpus, num_gpus=run.evaluator_gpus))
        for _ in range(run.evaluators)
    ]
