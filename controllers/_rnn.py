"""AutoGAN's controller: an LSTM over decision tokens, trained by REINFORCE."""

from __future__ import annotations

import copy
import math
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from controllers._budget import SizeBudget
from controllers._base import Controller, Proposal, UpdateStats, complete, mean_or_nan, split_rewards
from search_spaces import SearchSpace

#: How ``update`` turns a batch into steps; see ``RNNController.update``.
UPDATE_RULES = ("per_sample", "batch")

# AutoGAN (after ENAS) initialises every controller weight uniformly in this range.
_INIT_RANGE = 0.1


class _Policy(nn.Module):
    """Shared token embedding -> LSTM cell -> one linear head per decision."""

    def __init__(self, vocab_size: int, hidden: int, head_sizes: Sequence[int]) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, hidden)
        self.lstm = nn.LSTMCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, size) for size in head_sizes)


def _policy_loss(log_probs: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """REINFORCE: ``-sum_i log p_i * A_i`` over the batch, (B,) and (B,) -> scalar.

    Elementwise, so any batch size is correct (the reference's broadcast summed both
    factors first and failed for batches above one).
    """
    return -(log_probs * advantages).sum()


class RNNController(Controller):
    """LSTM controller (hidden 100) with REINFORCE, an EMA baseline and an entropy bonus.

    The sequence runs over every decision of cells ``1..stage``: the first input is zeros,
    each later input is the embedding of the previous token.  Prefix tokens are fed
    through the *current* network to build the hidden state, so the state a prefix
    conditions on always matches the weights being trained.

    The learning signal is ``reward + entropy_weight * entropy`` minus the baseline, an
    exponential moving average (decay ``d``) of the shaped rewards that persists across
    updates and ``state_dict`` round trips (a stage change resets it, see ``set_stage``).

    ``update_rule`` says how a batch of ``k`` rewards becomes steps:

    - ``"per_sample"`` (default): ``k`` Adam steps, one per proposal in order, each
      against the baseline as it stood before that sample, with a PPO-clipped
      importance ratio for the samples drawn before the policy moved.  A batch then
      learns as much as AutoGAN's ``k`` sequential one-architecture steps
      (bench/controller_quality.py measures both);
    - ``"batch"``: one step on the summed loss, the baseline moved by
      ``b <- d**k * b + (1 - d**k) * mean``.  Adam's step does not grow with ``k``, so at
      the paper's learning rate this barely moves the policy; kept to measure that.

    Randomness comes from a ``torch.Generator`` seeded with ``seed``: weight
    initialisation, token sampling and beam draws.  Global RNG state is never touched.

    With a ``budget``, each token is drawn from the policy's distribution renormalised over the
    choices that keep a completion within the budget (the other logits set to -inf), and
    ``log_probs`` applies the same masks, so that the REINFORCE and PPO terms are those of the
    distribution that actually sampled: a masked choice has probability 0 and no gradient.
    """

    kind = "rnn"

    def __init__(
        self,
        space: SearchSpace,
        seed: int,
        hidden: int = 100,
        temperature: float | None = None,
        tanh_constant: float | None = None,
        entropy_weight: float = 1e-3,
        lr: float = 3.5e-4,
        baseline_decay: float = 0.9,
        betas: tuple[float, float] = (0.9, 0.999),
        update_rule: str = "per_sample",
        epochs: int = 1,
        clip: float = 0.2,
        *,
        stage: int | None = None,
        budget: SizeBudget | None = None,
    ) -> None:
        super().__init__(space, seed, stage=stage, budget=budget)
        if update_rule not in UPDATE_RULES:
            raise ValueError(f"RNNController: update_rule {update_rule!r} is unknown; choose one of {list(UPDATE_RULES)}")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"RNNController: epochs {epochs!r} is not a positive integer; 1 is plain REINFORCE")
        if not (math.isfinite(clip) and clip > 0):
            raise ValueError(f"RNNController: clip {clip!r} must be a positive number; PPO uses 0.2")
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"RNNController: hidden {hidden!r} is not a positive integer; AutoGAN uses 100")
        for name, value in (("temperature", temperature), ("tanh_constant", tanh_constant)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"RNNController: {name} {value!r} must be a positive number, or None to turn it off")
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"RNNController: baseline_decay {baseline_decay!r} must lie in [0, 1); AutoGAN uses 0.9")
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"RNNController: lr {lr!r} must be a positive number; AutoGAN uses 3.5e-4")
        if not math.isfinite(entropy_weight):
            raise ValueError(f"RNNController: entropy_weight {entropy_weight!r} must be finite; AutoGAN uses 1e-3")
        self.hidden = hidden
        self.temperature = temperature
        self.tanh_constant = tanh_constant
        self.entropy_weight = float(entropy_weight)
        self.baseline_decay = float(baseline_decay)
        self.update_rule = update_rule
        self.epochs = epochs
        self.clip = float(clip)
        self.baseline: float | None = None
        self.updates = 0

        self._decisions = space.all_decisions()
        offsets, offset = [], 0
        for decision in self._decisions:
            offsets.append(offset)
            offset += decision.size
        self._offsets = offsets

        self._generator = torch.Generator().manual_seed(seed)
        # Built on the meta device so that module construction draws nothing from the
        # global generator; every weight is then initialised from ours.
        with torch.device("meta"):
            policy = _Policy(space.vocab_size(), hidden, [d.size for d in self._decisions])
        self.policy = policy.to_empty(device="cpu")
        with torch.no_grad():
            for parameter in self.policy.parameters():
                parameter.uniform_(-_INIT_RANGE, _INIT_RANGE, generator=self._generator)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=lr, betas=betas)

    # --- the policy ---------------------------------------------------------------------------

    def _logits(self, position: int, h: torch.Tensor) -> torch.Tensor:
        logits = self.policy.heads[position](h)  # (B, size)
        if self.temperature is not None:
            logits = logits / self.temperature
        if self.tanh_constant is not None:
            logits = self.tanh_constant * torch.tanh(logits)
        return logits

    def _roll(
        self, fixed: torch.Tensor, length: int, chosen: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the LSTM over ``length`` decisions.

        ``fixed`` (B, F) holds the prefix's token ids, teacher-forced.  Positions F.. are
        sampled when ``chosen`` is None, else scored at ``chosen`` (B, length - F) choice
        indices.  Returns the choice indices (B, length - F), log-probabilities (B,) and
        entropies (B,) of the decided positions.
        """
        batch, prefix_length = fixed.shape
        h = torch.zeros(batch, self.hidden)  # (B, H)
        c = torch.zeros(batch, self.hidden)
        x = torch.zeros(batch, self.hidden)
        log_prob = torch.zeros(batch)
        entropy = torch.zeros(batch)
        picks = []
        # Each row's choice indices so far: what the budget's masks are a function of.
        heads = None
        if self.budget is not None:
            heads = (fixed - torch.tensor(self._offsets[:prefix_length], dtype=torch.long)).tolist()
        for position in range(length):
            h, c = self.policy.lstm(x, (h, c))
            if position < prefix_length:
                token = fixed[:, position]
            else:
                logits = self._logits(position, h)  # (B, size)
                if heads is None:
                    log_p = torch.log_softmax(logits, dim=-1)  # (B, size)
                    step_entropy = -(log_p.exp() * log_p).sum(dim=-1)
                else:
                    allowed = torch.from_numpy(np.stack([self.budget.allowed(head) for head in heads]))  # (B, size)
                    log_p = torch.log_softmax(logits.masked_fill(~allowed, -math.inf), dim=-1)
                    # 0 * -inf is NaN, in the value and in the gradient: masked terms are zeroed first.
                    safe = log_p.masked_fill(~allowed, 0.0)
                    step_entropy = -(safe.exp() * allowed * safe).sum(dim=-1)
                if chosen is None:
                    index = torch.multinomial(log_p.exp(), 1, generator=self._generator).squeeze(1)
                else:
                    index = chosen[:, position - prefix_length]
                picks.append(index)
                log_prob = log_prob + log_p.gather(1, index[:, None]).squeeze(1)
                entropy = entropy + step_entropy
                token = index + self._offsets[position]
                if heads is not None:
                    for head, value in zip(heads, index.tolist()):
                        head.append(value)
            if position + 1 < length:
                x = self.policy.embedding(token)  # (B, H)
        indices = torch.stack(picks, dim=1) if picks else torch.zeros(batch, 0, dtype=torch.long)
        return indices, log_prob, entropy

    def _length(self, cells: int) -> int:
        return len(self.space.all_decisions(cells))

    # --- Controller -----------------------------------------------------------------------------

    def set_stage(self, stage: int) -> None:
        """Decide cell ``stage`` from now on; weights and optimizer state are kept.

        Changing the stage resets the baseline: a new stage's rewards are scored on a
        deeper supernet at a higher resolution, so the old average would bias every
        advantage of the new stage (AutoGAN built a fresh controller per stage).  Within
        a stage the baseline persists across updates and checkpoints.
        """
        previous = self.stage
        super().set_stage(stage)
        if stage != previous:
            self.baseline = None

    def on_supernet_reset(self) -> None:
        """Restart the baseline, as a new stage does: a fresh supernet's rewards start far below the
        old average, and against it the first samples after a reset would take the blame for it."""
        self.baseline = None

    def _choose(self, k: int) -> int:
        return int(torch.randint(k, (1,), generator=self._generator))

    def sample(self, n: int, prefix: Any = None) -> list[Proposal]:
        heads = self._resolve_prefixes(n, prefix)
        if not heads:
            return []
        fixed_cells = len(heads[0].cells) if heads[0] is not None else 0
        fixed = torch.tensor(
            [self.space.to_tokens(head) if head is not None else () for head in heads], dtype=torch.long
        ).reshape(len(heads), self._length(fixed_cells))
        with torch.no_grad():
            indices, log_prob, entropy = self._roll(fixed, self._length(self.stage), None)
        return [
            Proposal(complete(self.space, head, row), float(lp), float(ent), fixed_cells)
            for head, row, lp, ent in zip(heads, indices.tolist(), log_prob.tolist(), entropy.tolist())
        ]

    def log_probs(self, proposals: Sequence[Proposal]) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities and entropies (N,) of the proposals' decided cells under the current weights."""
        log_prob = torch.zeros(len(proposals))
        entropy = torch.zeros(len(proposals))
        groups: dict[tuple[int, int], list[int]] = {}
        for index, proposal in enumerate(proposals):
            self.space.validate(proposal.arch, partial=True)
            groups.setdefault((proposal.stage, proposal.fixed_cells), []).append(index)
        for (stage, fixed_cells), members in groups.items():
            split = self._length(fixed_cells)
            tokens = torch.tensor([self.space.to_tokens(proposals[i].arch) for i in members], dtype=torch.long)
            offsets = torch.tensor(self._offsets[split : self._length(stage)], dtype=torch.long)
            _, lp, ent = self._roll(tokens[:, :split], self._length(stage), tokens[:, split:] - offsets)
            where = torch.tensor(members)
            log_prob = log_prob.index_put((where,), lp)
            entropy = entropy.index_put((where,), ent)
        return log_prob, entropy

    def update(self, proposals: Sequence[Proposal], rewards: Sequence[float | None]) -> UpdateStats:
        proposals = list(proposals)
        cleaned = split_rewards(proposals, rewards)
        valid = [i for i, reward in enumerate(cleaned) if reward is not None]
        raw = [cleaned[i] for i in valid]
        if not valid:
            return UpdateStats(
                loss=math.nan,
                baseline=self.baseline,
                mean_reward=math.nan,
                valid=0,
                invalid=len(cleaned),
                entropy=mean_or_nan([p.entropy for p in proposals]),
                stepped=False,
            )
        chosen = [proposals[i] for i in valid]
        with torch.no_grad():
            behaviour, entropy = self.log_probs(chosen)  # (k,), (k,): the policy that sampled them
        shaped = torch.tensor(raw, dtype=torch.float32) + self.entropy_weight * entropy  # (k,)
        if self.update_rule == "batch":
            loss, stepped = self._batch_step(chosen, shaped)
        else:
            loss, stepped = self._per_sample_steps(chosen, shaped, behaviour)
        return UpdateStats(
            loss=loss,
            baseline=self.baseline,
            mean_reward=mean_or_nan(raw),
            valid=len(valid),
            invalid=len(cleaned) - len(valid),
            entropy=float(entropy.mean()),
            stepped=stepped,
        )

    def _batch_step(self, chosen: list[Proposal], shaped: torch.Tensor) -> tuple[float, bool]:
        """One Adam step on the whole batch; the baseline moves once, by ``d**k``.

        Kept as the measured counterfactual: Adam's step length does not grow with the
        batch, so a batch of 30 moves the policy about as far as one sample does.
        """
        batch_mean = float(shaped.mean())
        baseline = batch_mean if self.baseline is None else self.baseline
        log_prob, _ = self.log_probs(chosen)
        loss = _policy_loss(log_prob, shaped - baseline)
        stepped = self._step(loss)
        decay = self.baseline_decay ** len(chosen)
        self._move_baseline(decay * baseline + (1.0 - decay) * batch_mean)
        return float(loss.detach()), stepped

    def _per_sample_steps(
        self, chosen: list[Proposal], shaped: torch.Tensor, behaviour: torch.Tensor
    ) -> tuple[float, bool]:
        """One Adam step per proposal, in order, as AutoGAN's 30 one-architecture steps do.

        Each advantage uses the baseline as it stood before that sample, and the baseline
        then moves by that sample alone.  The proposals were all drawn before the first
        step, so from the second step on the policy has moved: the importance ratio
        ``p_now / p_sampling`` corrects for that, clipped to ``1 +- clip`` (PPO) so that
        no stale sample can pull the policy far.  ``epochs`` > 1 replays the batch with
        the same advantages.
        """
        if self.baseline is None:
            # A stage's first batch seeds the baseline with its own mean, so that its first
            # sample still carries a signal.
            self.baseline = float(shaped.mean())
        advantages = []
        for value in shaped.tolist():
            advantages.append(value - self.baseline)
            self._move_baseline(self.baseline_decay * self.baseline + (1.0 - self.baseline_decay) * value)
        first_epoch_loss, stepped = 0.0, False
        for epoch in range(self.epochs):
            for index, proposal in enumerate(chosen):
                log_prob, _ = self.log_probs([proposal])  # (1,)
                loss = _policy_loss(log_prob, advantages[index] * self._clipped_ratio(log_prob, behaviour[index], advantages[index]))
                stepped = self._step(loss) or stepped
                if epoch == 0:
                    first_epoch_loss += float(loss.detach())
        return first_epoch_loss, stepped

    def _clipped_ratio(self, log_prob: torch.Tensor, behaviour: torch.Tensor, advantage: float) -> torch.Tensor:
        """PPO's clipped surrogate as a weight on the REINFORCE term, (1,).

        The gradient of ``min(r * A, clip(r) * A)`` is ``r * A * grad log p`` where the
        ratio ``r`` is inside the clip range (or outside on the side that lowers the
        objective), and zero otherwise; ``-(log p * A * w)`` with ``w`` that (detached)
        ratio or zero has exactly that gradient.
        """
        ratio = torch.exp(log_prob.detach() - behaviour)
        clipped = (ratio > 1 + self.clip) if advantage > 0 else (ratio < 1 - self.clip)
        return torch.where(clipped, torch.zeros_like(ratio), ratio)

    def _step(self, loss: torch.Tensor) -> bool:
        # A finite reward can still overflow the loss (say 1e38); skipping that step is
        # what keeps the weights finite.
        if not bool(torch.isfinite(loss)):
            return False
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        return True

    def _move_baseline(self, value: float) -> None:
        if math.isfinite(value):
            self.baseline = value

    def state_dict(self) -> dict[str, Any]:
        # A copy, not views of the live weights: later updates must not change a saved state.
        return copy.deepcopy({
            **self._identity_state(),
            "config": {
                "hidden": self.hidden,
                "temperature": self.temperature,
                "tanh_constant": self.tanh_constant,
                "entropy_weight": self.entropy_weight,
                "baseline_decay": self.baseline_decay,
                "update_rule": self.update_rule,
                "epochs": self.epochs,
                "clip": self.clip,
            },
            "baseline": self.baseline,
            "updates": self.updates,
            "model": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self._generator.get_state(),
        })

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore weights, optimizer, baseline, RNG and stage.

        The saved hyperparameters replace the constructor's (the learning rate lives in
        the optimizer state); only ``hidden`` must match, since it shapes the weights.
        """
        self._check_state_kind(state)
        config = state["config"]
        if config["hidden"] != self.hidden:
            raise ValueError(
                f"load_state_dict: the state has hidden size {config['hidden']} but this controller has "
                f"{self.hidden}; build RNNController(hidden={config['hidden']}) to load it"
            )
        self.policy.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self._generator.set_state(state["generator"])
        self.temperature = config["temperature"]
        self.tanh_constant = config["tanh_constant"]
        self.entropy_weight = float(config["entropy_weight"])
        self.baseline_decay = float(config["baseline_decay"])
        # States saved before per-sample updates existed were trained with batch steps.
        self.update_rule = config.get("update_rule", "batch")
        self.epochs = int(config.get("epochs", 1))
        self.clip = float(config.get("clip", 0.2))
        self.seed = int(state["seed"])
        self.set_stage(int(state["stage"]))
        self.baseline = None if state["baseline"] is None else float(state["baseline"])
        self.updates = int(state["updates"])
