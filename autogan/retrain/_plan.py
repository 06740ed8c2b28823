"""Which retrain config a search's architecture gets by default: the preset of the run's dataset.

``autogan retrain RUN --rank N`` plans with these, and the views that show an architecture's size
at the retrain width read the same config, so both name the same width.
"""

from __future__ import annotations

from typing import Any

from autogan.config import DEFAULT_RETRAIN_PRESET, RetrainConfig, load_retrain_config, retrain_preset_names


def retrain_preset_for(dataset: str) -> str | None:
    """The retrain preset named after ``dataset``; None where there is none (the default applies)."""
    return dataset if dataset in retrain_preset_names() else None


def run_retrain_base(run_config: Any) -> dict[str, Any]:
    """What a retrain keeps of a search's config: its data and output geometry; the recipe comes from the preset."""
    return {
        "data": {
            "dataset": run_config.data.dataset,
            "root": run_config.data.root,
            "download": run_config.data.download,
            "channels": run_config.data.channels,
        },
        "model": {"bottom_width": run_config.model.bottom_width, "skip_semantics": run_config.model.skip_semantics},
    }


def default_retrain_config(run_config: Any) -> tuple[RetrainConfig, str]:
    """The config ``autogan retrain RUN --rank N`` uses without ``--config``, and the preset's name."""
    preset = retrain_preset_for(run_config.data.dataset)
    config = load_retrain_config(preset, [], base=run_retrain_base(run_config))
    return config, preset or DEFAULT_RETRAIN_PRESET
