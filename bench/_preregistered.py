"""The pre-registered end-to-end test: does the RNN's top-1 retrain better than random search's?

Run by ``python bench/search_quality.py --preregistered``.  The protocol (``PROTOCOL``) is
committed, with the README's text of the test, before the test's first search runs; its
commit is named in the results.  Pieces, cached as JSON in
``bench/results/search_quality/preregistered/`` and resumable as every bench's:

- a **search** ``(controller, seed)`` under the protocol's search overrides; its top-1 is the
  final ranking's first (after the final selection, where the protocol has one) and its
  best-so-far curve the one ``autogan compare`` draws;
- a **retrain** ``(architecture, seed)`` with the protocol's recipe: the retrained FID is the
  mean of the last ``late_window`` evaluations, and an architecture's the mean over its seeds;
- **random architectures**, drawn uniformly from the space with their own seed and retrained
  the same way: the reference each top-1's percentile is read against.

The primary result pairs the RNN with random search by search seed (``rnn - random`` in
retrained FID) and tests the mean with the exact one-sided sign-flip test; the secondary
pairs TPE with random search the same way.  ``--smoke`` runs every kind of piece at tiny
sizes into a scratch directory, to check that each starts.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _pieces import CACHE_ROOT, ROOT, Scheduler, cli, read_json, retrain_command, run_logged, write_json
from _preregistered_stats import ALPHA, sign_flip_test

PIECES = ROOT / "bench" / "results" / "search_quality" / "preregistered"
CACHE = CACHE_ROOT / "search_quality" / "preregistered"

#: Fixed, with the README's text, before the test's first search; never changed after it.
PROTOCOL: dict[str, Any] = {
    "committed_before_data": None,  # set to True in the commit that fixes the protocol
    "controllers": ["rnn", "random", "tpe"],
    "search_seeds": [],  # new seeds only: none of an earlier measurement's
    "search": ["run.backend='inprocess'", "run.threads=1", "run.overlap=false"],
    "retrain": {"preset": "digits", "g_steps": 1800, "every": 150, "samples": 1000, "seeds": [0, 1, 2],
                "late_window": 3},
    "random_architectures": {"count": 12, "seed": 2026_12_04},
    "primary": {"pair": ["rnn", "random"], "statistic": "mean of rnn - random, retrained FID", "test":
                "exact one-sided sign-flip (H1: mean < 0)", "alpha": ALPHA},
    "secondary": {"pair": ["tpe", "random"]},
}

_SMOKE_SEARCH = ["model.ch=8", "model.df=8", "model.latent_dim=16", "train.batch_size=8", "train.d_steps_per_iteration=6",
                 "search.reward_samples=40", "search.reward_splits=2", "search.archs_per_iteration=3",
                 "search.beam_candidates=3", "search.beam_width=2", "search.calibration_samples=16", "search.top_k=2",
                 "search.rescore_seeds=1", "search.stage_iterations=[1,1,1]"]


class Plan:
    """Where the pieces go and what they run: the protocol, or ``--smoke``'s tiny one in a scratch directory."""

    def __init__(self, protocol: dict[str, Any], smoke: bool = False):
        self.smoke = smoke
        base = Path(tempfile.mkdtemp(prefix="prereg-smoke-")) if smoke else None
        self.pieces = base / "pieces" if base else PIECES
        self.cache = base / "cache" if base else CACHE
        self.protocol = json.loads(json.dumps(protocol))
        if smoke:
            self.protocol["search"] = [*self.protocol["search"], *_SMOKE_SEARCH]
            self.protocol["search_seeds"] = [0]
            self.protocol["retrain"].update(g_steps=4, every=2, samples=100, seeds=[0], late_window=2)
            self.protocol["random_architectures"]["count"] = 1

    def retrain_overrides(self) -> list[str]:
        recipe = self.protocol["retrain"]
        widths = ["model.ch=8", "model.df=8", "model.latent_dim=16", "eval.splits=2"] if self.smoke else []
        return [*widths, "run.threads=1", f"train.g_steps={recipe['g_steps']}", f"eval.every={recipe['every']}",
                f"eval.samples={recipe['samples']}", f"eval.checkpoint_every={recipe['every']}", "eval.at_start=false",
                "eval.score_raw=false"]

    def fingerprint(self, what: Any) -> str:
        return hashlib.sha1(json.dumps(what, sort_keys=True).encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- pieces


def search_piece(plan: Plan, controller: str, seed: int) -> dict[str, Any]:
    name = f"{controller}-s{seed}"
    path = plan.pieces / "searches" / f"{name}.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    from autogan.compare import best_so_far
    from autogan.search import RunDirectory

    run_dir = plan.cache / "runs" / name
    started = time.time()
    command = (cli("search", "--resume", str(run_dir), "--json") if (run_dir / "config.toml").exists() else
               cli("search", "--out", str(run_dir), "--json", f"search.controller='{controller}'", f"run.seed={seed}",
                   *plan.protocol["search"]))
    output = json.loads(run_logged(command, plan.cache / "logs" / f"search-{name}.log", nice=5))
    record = RunDirectory.open(run_dir)
    during = [r for r in record.evaluations() if r["kind"] != "rescore"]
    piece = {"controller": controller, "seed": seed, "top1": output["top"][0]["arch"], "top": output["top"],
             "evaluations": len(during), "best_so_far": best_so_far(during, record.config().search.num_cells),
             "protocol": plan.fingerprint(plan.protocol["search"]), "minutes": (time.time() - started) / 60}
    write_json(path, piece)
    return piece


def retrain_piece(plan: Plan, arch: str, seed: int) -> dict[str, Any]:
    overrides = plan.retrain_overrides()
    key = plan.fingerprint([arch, seed, plan.protocol["retrain"]["preset"], overrides])
    path = plan.pieces / "retrains" / f"{key}.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    out = plan.cache / "retrains" / key
    started = time.time()
    run_logged(retrain_command(out, arch, plan.protocol["retrain"]["preset"], seed, overrides),
               plan.cache / "logs" / f"retrain-{key}.log", nice=5)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    trajectory = [{"g_step": r["g_step"], "fid": r["fid"]} for r in rows if r["weights"] == "ema"]
    window = trajectory[-plan.protocol["retrain"]["late_window"]:]
    piece = {"arch": arch, "seed": seed, "trajectory": trajectory, "fid": statistics.mean(r["fid"] for r in window),
             "minutes": (time.time() - started) / 60}
    write_json(path, piece)
    return piece


def random_architectures(protocol: dict[str, Any], num_cells: int = 3) -> list[str]:
    """The reference architectures: drawn uniformly from the space, with the protocol's own seed."""
    from search_spaces import SearchSpace

    space, rng = SearchSpace(num_cells=num_cells), random.Random(protocol["random_architectures"]["seed"])
    return [str(space.sample(rng)) for _ in range(protocol["random_architectures"]["count"])]


def schedule(scheduler: Scheduler, plan: Plan) -> None:
    """Every piece, pairs first: both searches of a seed, then their top-1s' retrains, seed by seed."""
    protocol = plan.protocol
    for rank, seed in enumerate(protocol["search_seeds"]):
        for controller in protocol["controllers"]:
            def retrain_top1(piece: dict[str, Any], rank: int = rank, controller: str = controller) -> None:
                for retrain_seed in protocol["retrain"]["seeds"]:
                    scheduler.add(2 * rank, f"retrain {piece['controller']}-s{piece['seed']} top-1 seed {retrain_seed}",
                                  lambda a=piece["top1"], s=retrain_seed: retrain_piece(plan, a, s))

            scheduler.add(2 * rank + (1 if controller == "tpe" else 0), f"search {controller} seed {seed}",
                          lambda c=controller, s=seed: search_piece(plan, c, s), then=retrain_top1)
    for index, arch in enumerate(random_architectures(protocol)):
        for retrain_seed in protocol["retrain"]["seeds"]:
            scheduler.add(10_000 + index, f"retrain random architecture {index + 1} seed {retrain_seed}",
                          lambda a=arch, s=retrain_seed: retrain_piece(plan, a, s))


# --------------------------------------------------------------------------- statistics


def summarise(plan: Plan) -> dict[str, Any]:
    """The pairs, the primary and secondary tests, the percentiles and the curves, from what is cached."""
    protocol = plan.protocol

    def retrained(arch: str) -> float | None:
        fids = [p["fid"] for s in protocol["retrain"]["seeds"] if (p := read_json(
            plan.pieces / "retrains" / f"{plan.fingerprint([arch, s, protocol['retrain']['preset'], plan.retrain_overrides()])}.json"))]
        return statistics.mean(fids) if len(fids) == len(protocol["retrain"]["seeds"]) else None

    searches: dict[str, dict[int, dict[str, Any]]] = {c: {} for c in protocol["controllers"]}
    for controller in protocol["controllers"]:
        for seed in protocol["search_seeds"]:
            piece = read_json(plan.pieces / "searches" / f"{controller}-s{seed}.json")
            if piece is not None:
                searches[controller][seed] = {**piece, "retrained_fid": retrained(piece["top1"])}
    reference = [f for a in random_architectures(protocol) if (f := retrained(a)) is not None]

    def paired(ours: str, baseline: str) -> dict[str, Any]:
        pairs = [{"seed": s, ours: searches[ours][s]["retrained_fid"], baseline: searches[baseline][s]["retrained_fid"],
                  "difference": searches[ours][s]["retrained_fid"] - searches[baseline][s]["retrained_fid"]}
                 for s in protocol["search_seeds"] if s in searches[ours] and s in searches[baseline]
                 and searches[ours][s]["retrained_fid"] is not None and searches[baseline][s]["retrained_fid"] is not None]
        test = sign_flip_test([p["difference"] for p in pairs]) if len(pairs) >= 2 else None
        return {"pairs": pairs, "planned": len(protocol["search_seeds"]), "test": test,
                "complete": len(pairs) == len(protocol["search_seeds"])}

    def percentile(fid: float | None) -> float | None:
        # The share of the random architectures that retrain worse: 100 = better than all of them.
        return None if fid is None or not reference else 100 * sum(r > fid for r in reference) / len(reference)

    primary, secondary = protocol["primary"]["pair"], protocol["secondary"]["pair"]
    return {
        "protocol": protocol,
        "primary": paired(*primary),
        "secondary": paired(*secondary),
        "random_architectures": {"retrained": len(reference), "planned": protocol["random_architectures"]["count"],
                                 "fid": sorted(reference)},
        "top1": {c: [{"seed": s, "arch": p["top1"], "retrained_fid": p["retrained_fid"],
                      "percentile": percentile(p["retrained_fid"]), "best_so_far": p["best_so_far"],
                      "minutes": p["minutes"]} for s, p in sorted(by_seed.items())]
                 for c, by_seed in searches.items()},
    }


def table(summary: dict[str, Any]) -> str:
    lines = ["pre-registered test (rnn - random, retrained FID; negative favours the RNN)"]
    for label in ("primary", "secondary"):
        block = summary[label]
        test = block["test"]
        head = f"{label}: {len(block['pairs'])} of {block['planned']} pairs"
        lines.append(head + ("" if test is None else
                             f", mean {test['mean']:+.3f} +- {test['std']:.3f}, sign-flip p = {test['p']:.4f}"))
    reference = summary["random_architectures"]
    lines.append(f"random architectures retrained: {reference['retrained']} of {reference['planned']}")
    for controller, rows in summary["top1"].items():
        cells = [f"s{r['seed']} {r['retrained_fid']:.2f} ({r['percentile']:.0f}%)" if r["retrained_fid"] is not None
                 and r["percentile"] is not None else f"s{r['seed']} -" for r in rows]
        lines.append(f"{controller:7s} " + ", ".join(cells))
    return "\n".join(lines)
