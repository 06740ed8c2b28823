"""``digits-classifier``: a small CNN trained on the built-in digits, for IS and FID without Inception.

It is a torch-fidelity ``FeatureExtractorBase`` registered with torch-fidelity
as ``autogan-digits-classifier``, so it runs through the same code path as the
Inception port (ours and torch-fidelity's own ``calculate_metrics``).  It is
trained once, deterministically, on first use and cached on disk.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_fidelity import register_feature_extractor
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from autogan.data._digits import digits_labels, load_digits
from autogan.data._resize import resize_images
from autogan.data._sources import convert_channels, float_to_uint8, uint8_to_float
from autogan.log import logger
from autogan.files import atomic_write
from autogan.metrics._cache import resolve_cache_dir, tensors_checksum

TORCH_FIDELITY_NAME = "autogan-digits-classifier"
CACHE_FORMAT = 1

# Everything that determines the trained weights; a cache file trained under other values is stale.
TRAINING = {
    "input_size": 16,  # digits carry 8x8 of information; 16 px keeps the 3x3 convs meaningful
    "widths": [32, 64, 128],
    "epochs": 15,
    "batch_size": 32,
    "lr": 3e-3,
    "weight_decay": 1e-4,
    "max_shift": 1,  # pixels of random translation, so off-center generated digits still classify
    "test_fraction": 0.2,
    "seed": 0,
}
NUM_CLASSES = 10
FEATURE_DIM = TRAINING["widths"][-1]


class DigitsCNN(nn.Module):
    """Three 3x3 convs (the last two stride 2), global average pooling, a linear head."""

    def __init__(self, widths: list[int] = TRAINING["widths"], num_classes: int = NUM_CLASSES):
        super().__init__()
        c1, c2, c3 = widths
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(c2, c3, 3, stride=2, padding=1)
        self.fc = nn.Linear(c3, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.relu(self.conv1(x))  # (B, c1, 16, 16)
        x = F.relu(self.conv2(x))  # (B, c2, 8, 8)
        x = F.relu(self.conv3(x))  # (B, c3, 4, 4)
        features = x.mean(dim=(2, 3))  # (B, c3)
        return features, self.fc(features)


def _empty_net() -> DigitsCNN:
    # Built on the meta device, so construction draws nothing from the global RNG.
    with torch.device("meta"):
        net = DigitsCNN()
    return net.to_empty(device="cpu")


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, 1|3, H, W)`` to the network's input: gray float in [-1, 1] at 16 px."""
    x = convert_channels(uint8_to_float(images), 1)
    return resize_images(x, TRAINING["input_size"])


def _shift(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Translate a batch, filling with background (-1)."""
    s = TRAINING["max_shift"]
    padded = F.pad(x, (s, s, s, s), value=-1.0)
    h, w = x.shape[-2:]
    return padded[..., s + dy : s + dy + h, s + dx : s + dx + w]


@dataclass(frozen=True)
class TrainedClassifier:
    """Weights with what they were checked against: held-out accuracy on ``num_test`` images."""

    state_dict: dict[str, torch.Tensor]
    accuracy: float
    num_test: int
    checksum: str
    path: Path | None = None


@contextlib.contextmanager
def _one_thread():
    # Batches of 32 tiny images gain nothing from intra-op threads, and on a busy 2-core machine
    # two threads made training 15x slower (67 s against 4.5 s); one thread is also reproducible
    # across machines.  The previous setting is restored on exit.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train_digits_classifier() -> TrainedClassifier:
    """Train :class:`DigitsCNN` on 80% of the digits; report accuracy on the other 20%.

    Seeded and self-contained (own ``torch.Generator``), a few seconds on a CPU.
    Inputs go through the same uint8 quantization and :func:`preprocess` as scoring.
    """
    # Callers may hold torch.no_grad() (a first use inside evaluation); training needs autograd.
    with _one_thread(), torch.enable_grad():
        return _train()


def _train() -> TrainedClassifier:
    cfg = TRAINING
    generator = torch.Generator().manual_seed(cfg["seed"])
    x = preprocess(float_to_uint8(load_digits(size=cfg["input_size"])))  # (N, 1, 16, 16)
    y = digits_labels()
    order = torch.randperm(len(y), generator=generator)
    num_test = int(round(len(y) * cfg["test_fraction"]))
    test, train = order[:num_test], order[num_test:]

    net = _empty_net()
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(module.weight, nonlinearity="relu", generator=generator)
            nn.init.zeros_(module.bias)
    optimizer = torch.optim.AdamW(net.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    steps_per_epoch = -(-len(train) // cfg["batch_size"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg["lr"], total_steps=cfg["epochs"] * steps_per_epoch)
    net.train()
    for _ in range(cfg["epochs"]):
        epoch = train[torch.randperm(len(train), generator=generator)]
        for start in range(0, len(epoch), cfg["batch_size"]):
            batch = epoch[start : start + cfg["batch_size"]]
            dx, dy = torch.randint(-cfg["max_shift"], cfg["max_shift"] + 1, (2,), generator=generator).tolist()
            _, logits = net(_shift(x[batch], dx, dy))
            loss = F.cross_entropy(logits, y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    net.eval()
    with torch.no_grad():
        accuracy = (net(x[test])[1].argmax(dim=1) == y[test]).double().mean().item()
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    return TrainedClassifier(state, accuracy, num_test, tensors_checksum(state))


def cache_path(cache_dir: str | Path | None = None) -> Path:
    """Where the trained classifier is cached: ``<cache>/extractors/digits-classifier-v<format>.pt``."""
    return resolve_cache_dir(cache_dir) / "extractors" / f"digits-classifier-v{CACHE_FORMAT}.pt"


def _read_cache(path: Path) -> TrainedClassifier:
    record = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(record, dict) or record.get("format") != CACHE_FORMAT:
        raise ValueError("unknown format")
    if record.get("training") != json.dumps(TRAINING, sort_keys=True):
        raise ValueError("trained under other settings")
    state = record["state_dict"]
    if tensors_checksum(state) != record.get("checksum"):
        raise ValueError("checksum mismatch")
    return TrainedClassifier(state, float(record["accuracy"]), int(record["num_test"]), record["checksum"], path)


def load_or_train(cache_dir: str | Path | None = None) -> TrainedClassifier:
    """The cached classifier, or a freshly trained one written to the cache atomically.

    A cache file that cannot be read, was trained under other settings, or whose
    weights fail their checksum is reported and rebuilt.
    """
    path = cache_path(cache_dir)
    if path.is_file():
        try:
            return _read_cache(path)
        except Exception as exc:  # any unreadable or mismatched file is rebuilt, whatever broke it
            logger.warning("digits-classifier cache %s is stale or corrupt (%s); retraining", path, exc)
    logger.info("training digits-classifier (first use; cached at %s)", path)
    trained = train_digits_classifier()
    logger.info("digits-classifier held-out accuracy %.2f%% on %d images", 100 * trained.accuracy, trained.num_test)
    record = {
        "format": CACHE_FORMAT,
        "training": json.dumps(TRAINING, sort_keys=True),
        "state_dict": trained.state_dict,
        "checksum": trained.checksum,
        "accuracy": trained.accuracy,
        "num_test": trained.num_test,
    }
    atomic_write(path, lambda handle: torch.save(record, handle))
    return TrainedClassifier(trained.state_dict, trained.accuracy, trained.num_test, trained.checksum, path)


class DigitsClassifierExtractor(FeatureExtractorBase):
    """torch-fidelity feature extractor: uint8 ``(B, 1|3, H, W)`` to ``features`` (128) and ``logits`` (10).

    ``feature_extractor_weights_path`` (torch-fidelity's keyword) points at a cache
    file written by :func:`load_or_train`; without it the default cache is used,
    training on first use.
    """

    def __init__(self, name, features_list, feature_extractor_weights_path=None, cache_dir=None, **kwargs):
        super().__init__(name, features_list)
        if feature_extractor_weights_path is not None:
            self.trained = _read_cache(Path(feature_extractor_weights_path))
        else:
            self.trained = load_or_train(cache_dir)
        self.net = _empty_net()
        self.net.load_state_dict(self.trained.state_dict)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor):
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"digits-classifier expects uint8 (B, 1|3, H, W) images, got {x.dtype} {tuple(x.shape)}")
        features, logits = self.net(preprocess(x))
        provided = {"features": features, "logits": logits}
        return tuple(provided[name] for name in self.features_list)

    @staticmethod
    def get_provided_features_list():
        return "features", "logits"

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"isc": "logits", "fid": "features", "kid": "features", "prc": "features"}[metric]

    @staticmethod
    def can_be_compiled():
        return True

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros((1, 3, TRAINING["input_size"], TRAINING["input_size"]), dtype=torch.uint8)


if TORCH_FIDELITY_NAME not in FEATURE_EXTRACTORS_REGISTRY:
    register_feature_extractor(TORCH_FIDELITY_NAME, DigitsClassifierExtractor)
