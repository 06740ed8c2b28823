"""bf16 autocast against float32 for the search's reward: IS (and FID) on the same images.

    PYTHONPATH=. .venv/bin/python bench/reward_precision.py                 # CPU, writes results/reward_precision_cpu.json
    PYTHONPATH=. .venv/bin/python bench/reward_precision.py --device cuda   # the same on a GPU, with TF32 as a third column
    PYTHONPATH=. .venv/bin/python bench/reward_precision.py --samples 500 --archs 1 --train-steps 20 --inception-images 20

The full CPU run took about an hour on one core of a busy 2-core machine; the last line is a
few minutes' look.

Every case scores identical inputs twice: in float32, and with the networks under bfloat16
autocast exactly as ``search.reward_bf16 = true`` runs them (``RewardEvaluator`` for the
generator, ``FeatureExtractor(bf16=True)`` for the extractor; logits and features come back
in float32, and IS and FID are computed in float64 either way).  Cases:

- digits-classifier on the 1,797 real digits (FID: the first half against the second half's
  float32 statistics);
- digits-classifier on samples of the digits supernet generator, with random weights and
  after a short training, for a few architectures (``RewardEvaluator.sample_images``: the
  reward's own normalization and precision); FID against all real digits in float32;
- inception-v3: torch-fidelity's architecture with seeded random weights in the published
  file's format (``random_inception_state_dict``, as the tests build it), since the published
  weights cannot be downloaded here; ``--inception-weights`` takes the real file.  With random
  weights the logits hardly depend on the image (IS is about 1.000), so its IS deviation says
  little about the real network's; the logits' relative RMS error is given as well.

Generator cases are scored on all ``--samples`` images (the paper's 5,000) and on the first
``--reward-samples`` of them (the digits preset's reward, 500), 10 splits each.

On the CPU, torch's bf16 autocast stands in for CUDA's: same casting rules, other kernels.
On CPUs without bf16 instructions torch's bf16 convolutions are slow reference loops (about
30x slower than float32 here), so by default each bf16 convolution and matmul is computed by
the float32 kernel on the same bf16 inputs and rounded to bf16: the products of bf16 numbers
are exact in float32, so this is a bf16 kernel with float32 accumulation, as cuDNN's are, up
to summation order.  The ``kernel check`` rows compare it with torch's own bf16 kernels on a
few images; ``--native-cpu-kernels`` uses those throughout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autogan.config import load_config  # noqa: E402
from autogan.data._digits import load_digits  # noqa: E402
from autogan.device import configure_backends  # noqa: E402
from autogan.metrics import (
    compute_statistics,
    extract_features,
    fid_from_statistics,
    get_extractor,
    inception_score,
)
from autogan.metrics.testing import random_inception_state_dict
from autogan.search import RewardEvaluator, SupernetTrainer  # noqa: E402
from search_spaces import SearchSpace  # noqa: E402

GOAL_PERCENT = 0.5  # issue 15: bf16 rewards within 0.5% of float32, relative
SPLITS = 10
BATCH = 500


@dataclass(frozen=True)
class Precision:
    name: str
    bf16: bool
    tf32: bool = False


def precisions(device: torch.device) -> list[Precision]:
    """float32 first (the reference); TF32 only where it exists."""
    found = [Precision("float32", bf16=False), Precision("bf16", bf16=True)]
    if device.type == "cuda":
        found.append(Precision("tf32", bf16=False, tf32=True))
    return found


class Bf16KernelsInFloat32(TorchDispatchMode):
    """bf16 convolutions and matmuls run by the float32 kernels on the same values, rounded back to bf16."""

    OPS = {
        torch.ops.aten.convolution.default,
        torch.ops.aten.mm.default,
        torch.ops.aten.addmm.default,
        torch.ops.aten.bmm.default,
        torch.ops.aten.baddbmm.default,
    }

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.OPS and any(isinstance(a, torch.Tensor) and a.dtype == torch.bfloat16 for a in args):
            widen = lambda a: a.float() if isinstance(a, torch.Tensor) and a.dtype == torch.bfloat16 else a  # noqa: E731
            return func(*tree_map(widen, args), **tree_map(widen, kwargs)).to(torch.bfloat16)
        return func(*args, **kwargs)


class Bench:
    def __init__(self, device: torch.device, emulate: bool, weights_path: str, digits_cache: str | None):
        self.device = device
        self.emulate = emulate and device.type == "cpu"
        self.precisions = precisions(device)
        self.weights_path = weights_path
        self.digits_cache = digits_cache

    @contextlib.contextmanager
    def running(self, precision: Precision):
        """The process-wide switches of ``precision``: TF32 on CUDA, the CPU's bf16 kernels."""
        configure_backends(self.device, tf32=precision.tf32)
        with Bf16KernelsInFloat32() if self.emulate and precision.bf16 else contextlib.nullcontext():
            yield

    def extractor(self, name: str, precision: Precision):
        weights = self.weights_path if name == "inception-v3" else None
        return get_extractor(name, device=self.device, weights_path=weights, cache_dir=self.digits_cache, bf16=precision.bf16)

    def features(self, images_for: dict[str, torch.Tensor], extractor_name: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """``(features, logits)`` of each precision's images, by its own extractor, all float32 on the CPU."""
        found = {}
        for precision in self.precisions:
            extractor = self.extractor(extractor_name, precision)
            images = images_for[precision.name]
            with self.running(precision):
                found[precision.name] = extract_features(images.split(BATCH), extractor)
        return found


def relative_percent(value: float, reference: float) -> float:
    return 100.0 * abs(value - reference) / abs(reference)


def relative_rms(x: torch.Tensor, reference: torch.Tensor) -> float:
    return float((x.double() - reference.double()).norm() / reference.double().norm())


def compare(name: str, extractor: str, source: str, found: dict, *, reference=None, arch: str | None = None) -> dict:
    """One case: IS (and FID against ``reference``) per precision, and each one's deviation from float32."""
    first = next(iter(found))
    logits_ref = found[first][1]
    row: dict = {"case": name, "extractor": extractor, "images": source, "arch": arch, "num_images": int(logits_ref.shape[0]),
                 "splits": SPLITS, "is": {}, "fid": {} if reference is not None else None, "logits_relative_rms": {}}
    for precision, (features, logits) in found.items():
        row["is"][precision] = inception_score(logits, SPLITS)[0]
        if reference is not None:
            row["fid"][precision] = fid_from_statistics(compute_statistics(features), reference)
        if precision != first:
            row["logits_relative_rms"][precision] = relative_rms(logits, logits_ref)
    for metric in ("is", "fid"):
        values = row[metric]
        if values is not None:
            row[f"{metric}_deviation_percent"] = {p: relative_percent(v, values[first]) for p, v in values.items() if p != first}
    return row


def supernet_boxes(device: torch.device, train_steps: int) -> dict[str, dict]:
    """The digits supernet's generator weights: at initialization, and after ``train_steps`` D steps."""
    config = load_config("digits", [f"run.device={device.type}"])
    trainer = SupernetTrainer(config.to_dict())
    boxes = {"random": {"version": "random", "ref": trainer.weights()}}
    if train_steps > 0:
        started = time.perf_counter()
        space = trainer.space
        stats = trainer.train(space.num_cells, [space.sample(10_000 + i) for i in range(train_steps)])
        print(f"trained the supernet {stats['d_steps']} D steps in {time.perf_counter() - started:.0f} s "
              f"(loss_d {stats['loss_d']:.3f}, loss_g {stats['loss_g']:.3f})", file=sys.stderr)
        boxes["trained"] = {"version": "trained", "ref": trainer.weights()}
    return boxes


def generator_samples(bench: Bench, box: dict, arch: str, n: int, seed: int) -> dict[str, torch.Tensor]:
    """``n`` samples of ``arch`` as each precision's RewardEvaluator makes them for a reward."""
    samples = {}
    for precision in bench.precisions:
        overrides = [f"run.device={bench.device.type}", f"search.reward_bf16={str(precision.bf16).lower()}",
                     f"run.tf32={str(precision.tf32).lower()}"]
        evaluator = RewardEvaluator(load_config("digits", overrides).to_dict())
        with bench.running(precision):
            samples[precision.name] = evaluator.sample_images(arch, n, seed, box)
    return samples


def kernel_check(bench: Bench, extractor_name: str, images: torch.Tensor) -> dict:
    """Logits of torch's own CPU bf16 kernels against this bench's emulation, both against float32."""
    bf16 = Precision("bf16", bf16=True)
    float32 = bench.extractor(extractor_name, Precision("float32", bf16=False))(images)[1]
    extractor = bench.extractor(extractor_name, bf16)
    native = extractor(images)[1]
    with Bf16KernelsInFloat32():
        emulated = extractor(images)[1]
    return {"extractor": extractor_name, "num_images": int(images.shape[0]),
            "native_vs_float32": relative_rms(native, float32), "emulated_vs_float32": relative_rms(emulated, float32),
            "emulated_vs_native": relative_rms(emulated, native)}


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else platform.machine()
    return f"{model}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def run(args: argparse.Namespace, scratch: Path) -> dict:
    device = torch.device(args.device)
    weights = args.inception_weights
    if weights is None:
        weights = str(scratch / "random-inception.pth")
        torch.save(random_inception_state_dict(seed=0), weights)
    bench = Bench(device, emulate=not args.native_cpu_kernels, weights_path=weights, digits_cache=args.cache_dir)
    rows, checks = [], []
    digits = load_digits(size=32)  # (1797, 1, 32, 32) in [-1, 1]
    same_for_all = lambda images: {p.name: images for p in bench.precisions}  # noqa: E731

    def log(row: dict) -> None:
        deviations = ", ".join(f"{p} {d:.3f}%" for p, d in row["is_deviation_percent"].items())
        print(f"{row['case']}: IS {row['is']['float32']:.4f}, deviation {deviations}", file=sys.stderr)

    float32 = Precision("float32", bf16=False)
    with bench.running(float32):
        half = len(digits) // 2
        reference_half = compute_statistics(extract_features(digits[half:].split(BATCH), bench.extractor("digits-classifier", float32))[0])
        reference_all = compute_statistics(extract_features(digits.split(BATCH), bench.extractor("digits-classifier", float32))[0])

    real = bench.features(same_for_all(digits), "digits-classifier")
    rows.append(compare("digits-classifier, real digits (IS)", "digits-classifier", "real digits", real))
    log(rows[-1])
    first_half = {p: (f[:half], l[:half]) for p, (f, l) in real.items()}
    rows.append(compare("digits-classifier, real digits (FID, first half vs second half)", "digits-classifier",
                        "real digits, first half", first_half, reference=reference_half))
    log(rows[-1])

    boxes = supernet_boxes(device, args.train_steps)
    archs = [str(SearchSpace(num_cells=load_config("digits").search.num_cells).sample(i)) for i in range(args.archs)]
    inception_samples = None
    for supernet, box in boxes.items():
        for index, arch in enumerate(archs):
            started = time.perf_counter()
            samples = generator_samples(bench, box, arch, args.samples, seed=index)
            if inception_samples is None:
                inception_samples = {p: s[: args.inception_images] for p, s in samples.items()}
            found = bench.features(samples, "digits-classifier")
            for n in sorted({args.samples, min(args.reward_samples, args.samples)}, reverse=True):
                rows.append(compare(f"digits-classifier, {supernet} supernet, arch {index}, {n} samples", "digits-classifier",
                                    f"{supernet} supernet samples", {p: (f[:n], l[:n]) for p, (f, l) in found.items()},
                                    reference=reference_all, arch=arch))
                log(rows[-1])
            print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    n = args.inception_images
    real_rgb = digits[:n]
    inception_reference = None
    if device.type == "cuda":
        # All 1,797 digits through Inception take seconds on a GPU and about ten minutes on one CPU core.
        with bench.running(float32):
            inception_reference = compute_statistics(extract_features(digits.split(BATCH), bench.extractor("inception-v3", float32))[0])
    weights_label = "random weights" if args.inception_weights is None else "given weights"
    for source, images_for in (("real digits", same_for_all(real_rgb)), ("random supernet samples, arch 0", inception_samples)):
        started = time.perf_counter()
        found = bench.features(images_for, "inception-v3")
        rows.append(compare(f"inception-v3 ({weights_label}), {source}", "inception-v3", source, found,
                            reference=inception_reference, arch=archs[0] if "supernet" in source else None))
        log(rows[-1])
        print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    if device.type == "cpu" and args.check_images > 0:
        checks.append(kernel_check(bench, "digits-classifier", digits[: 16 * args.check_images]))
        checks.append(kernel_check(bench, "inception-v3", real_rgb[: args.check_images]))

    worst = max(d for row in rows for d in row["is_deviation_percent"].values())
    return {
        "benchmark": "reward_precision",
        "device": str(device),
        "machine": machine(device),
        "torch": torch.__version__,
        "bf16_stand_in": "CPU bf16 autocast standing in for CUDA's" if device.type == "cpu" else "CUDA bf16 autocast",
        "cpu_bf16_kernels": ("float32 kernels on bf16 inputs, rounded to bf16 (emulated)" if bench.emulate
                             else "torch's native") if device.type == "cpu" else None,
        "inception_weights": "random (seed 0, published format)" if args.inception_weights is None else args.inception_weights,
        "samples": {"real_digits": len(digits), "generator_per_arch": args.samples,
                    "generator_reward_subset": args.reward_samples, "archs": args.archs,
                    "supernet_train_steps": args.train_steps, "inception": n, "splits": SPLITS},
        "goal_percent": GOAL_PERCENT,
        "worst_is_deviation_percent": worst,
        "rows": rows,
        "kernel_check": checks,
    }


def print_table(result: dict) -> None:
    names = [p for p in result["rows"][0]["is"] if p != "float32"]
    print(f"reward precision on {result['device']} ({result['machine']}), torch {result['torch']}; {result['bf16_stand_in']}")
    head = f"{'case':<66} {'n':>5} {'IS fp32':>9} " + " ".join(f"{'IS ' + p:>9} {'dev %':>7} {'logit rRMS':>10}" for p in names)
    print(head + f" {'FID fp32':>9} " + " ".join(f"{'FID ' + p:>9} {'dev %':>7}" for p in names))
    for row in result["rows"]:
        line = f"{row['case'][:66]:<66} {row['num_images']:>5} {row['is']['float32']:>9.4f} "
        line += " ".join(f"{row['is'][p]:>9.4f} {row['is_deviation_percent'][p]:>7.3f} {row['logits_relative_rms'][p]:>10.2e}"
                         for p in names)
        if row["fid"] is not None:
            line += f" {row['fid']['float32']:>9.4f} " + " ".join(
                f"{row['fid'][p]:>9.4f} {row['fid_deviation_percent'][p]:>7.3f}" for p in names)
        print(line)
    print("columns: IS and FID in float32, then per other precision its value, its relative deviation from float32 (%),")
    print("and the relative RMS difference of the logits")
    print(f"worst IS deviation {result['worst_is_deviation_percent']:.3f}% (goal < {result['goal_percent']}%)")
    for check in result["kernel_check"]:
        print(f"kernel check, {check['extractor']} on {check['num_images']} images, logits relative RMS: "
              f"native bf16 vs float32 {check['native_vs_float32']:.2e}, emulated vs float32 "
              f"{check['emulated_vs_float32']:.2e}, emulated vs native {check['emulated_vs_native']:.2e}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--samples", type=int, default=5000, help="generator samples per architecture (the paper's 5,000)")
    parser.add_argument("--archs", type=int, default=3, help="architectures per supernet")
    parser.add_argument("--train-steps", type=int, default=300, help="D steps of the briefly trained supernet (0: skip it)")
    parser.add_argument("--inception-images", type=int, help="images per inception-v3 case (default: 5,000 on CUDA, 500 on CPU)")
    parser.add_argument("--inception-weights", help="the published Inception weights file, if you have it (default: random)")
    parser.add_argument("--reward-samples", type=int, default=500, help="the smaller sample count scored too (digits preset)")
    parser.add_argument("--check-images", type=int, default=4, help="Inception images of the CPU kernel check (0: skip)")
    parser.add_argument("--native-cpu-kernels", action="store_true", help="torch's own CPU bf16 kernels (slow)")
    parser.add_argument("--cache-dir", help="where the digits classifier is cached (default: AUTOGAN_CACHE or ~/.cache/autogan)")
    parser.add_argument("--out", type=Path, help="JSON path (default: bench/results/reward_precision_<device>.json)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.inception_images is None:
        args.inception_images = 5000 if device.type == "cuda" else 500
    with tempfile.TemporaryDirectory() as scratch:
        result = run(args, Path(scratch))
    out = args.out or ROOT / "bench" / "results" / f"reward_precision_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(result, indent=2))
    os.replace(temporary, out)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
