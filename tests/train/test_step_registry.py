"""``autogan.train.STEPS`` is the one place a ``train.step`` name is looked up."""

from __future__ import annotations

import pytest

from autogan.config import load_config, load_retrain_config
from autogan.errors import ConfigError
from autogan.train import STEPS, one_stage_step, two_stage_step


def test_steps_are_keyed_as_the_configs_spell_train_step_and_cannot_be_replaced():
    assert dict(STEPS) == {"one_stage": one_stage_step, "two_stage": two_stage_step}
    for name in STEPS:
        assert load_config("digits", [f"train.step='{name}'"]).train.step == name
        assert load_retrain_config("digits", [f"train.step='{name}'"]).train.step == name
    with pytest.raises(ConfigError):
        load_config("digits", ["train.step='one-stage'"])  # the spelling the registry once had
    with pytest.raises(TypeError):
        STEPS["one_stage"] = two_stage_step  # type: ignore[index]
