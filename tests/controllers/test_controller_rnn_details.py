"""RNNController's contract in detail: its arguments, the logits, PPO's clip, the steps it skips
and what a saved state carries (gaps that mutating controllers/_rnn.py found)."""

from __future__ import annotations

import io
import math
import re

import pytest
import torch

from controllers import Proposal
from controllers._rnn import UPDATE_RULES, RNNController


def _copy(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def _weights(controller: RNNController) -> list[torch.Tensor]:
    return [p.detach().clone() for p in controller.policy.parameters()]


# --- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("update_rule", "sgd", f"update_rule 'sgd' is unknown; choose one of {list(UPDATE_RULES)}"),
        ("epochs", 0, "epochs 0 is not a positive integer; 1 is plain REINFORCE"),
        ("epochs", 1.5, "epochs 1.5 is not a positive integer"),
        ("epochs", True, "epochs True is not a positive integer"),
        ("clip", 0.0, "clip 0.0 must be a positive number; PPO uses 0.2"),
        ("clip", -0.2, "clip -0.2 must be a positive number"),
        ("clip", math.inf, "clip inf must be a positive number"),
        ("hidden", 0, "hidden 0 is not a positive integer; AutoGAN uses 100"),
        ("hidden", 1.5, "hidden 1.5 is not a positive integer"),
        ("hidden", True, "hidden True is not a positive integer"),
        ("temperature", 0.0, "temperature 0.0 must be a positive number, or None to turn it off"),
        ("temperature", -1.0, "temperature -1.0 must be a positive number"),
        ("temperature", math.inf, "temperature inf must be a positive number"),
        ("tanh_constant", 0.0, "tanh_constant 0.0 must be a positive number, or None to turn it off"),
        ("tanh_constant", -2.5, "tanh_constant -2.5 must be a positive number"),
        ("baseline_decay", 1.0, "baseline_decay 1.0 must lie in [0, 1); AutoGAN uses 0.9"),
        ("baseline_decay", 1.5, "baseline_decay 1.5 must lie in [0, 1)"),
        ("baseline_decay", -0.1, "baseline_decay -0.1 must lie in [0, 1)"),
        ("lr", 0.0, "lr 0.0 must be a positive number; AutoGAN uses 3.5e-4"),
        ("lr", -1e-3, "lr -0.001 must be a positive number"),
        ("lr", math.nan, "lr nan must be a positive number"),
        ("entropy_weight", math.inf, "entropy_weight inf must be finite; AutoGAN uses 1e-3"),
    ],
)
def test_a_bad_argument_is_named_with_its_value_and_a_working_value(space, argument, value, message):
    with pytest.raises(ValueError, match="^" + re.escape(f"RNNController: {message}")):
        RNNController(space, 0, **{argument: value})


@pytest.mark.parametrize(("argument", "value"), [("hidden", 1), ("epochs", 1), ("baseline_decay", 0.0),
                                                 ("clip", 1e-6), ("temperature", 1e-3), ("entropy_weight", -1.0)])
def test_the_edges_of_each_range_are_accepted(space, argument, value):
    controller = RNNController(space, 0, **{argument: value})
    assert getattr(controller, argument) == value
    proposals = controller.sample(2)
    assert controller.update(proposals, [0.2, 0.4]).valid == 2


def test_the_defaults_are_autogans(space):
    controller = RNNController(space, 0)
    group = controller.optimizer.param_groups[0]
    assert (group["lr"], group["betas"]) == (3.5e-4, (0.9, 0.999))
    assert (controller.hidden, controller.entropy_weight, controller.baseline_decay) == (100, 1e-3, 0.9)
    assert (controller.update_rule, controller.epochs, controller.clip) == ("per_sample", 1, 0.2)
    assert controller.temperature is None and controller.tanh_constant is None
    assert controller.updates == 0 and controller.state_dict()["updates"] == 0 and controller.baseline is None


def test_the_optimizer_takes_the_learning_rate_and_betas_given(space):
    group = RNNController(space, 0, lr=0.01, betas=(0.5, 0.9)).optimizer.param_groups[0]
    assert (group["lr"], group["betas"]) == (0.01, (0.5, 0.9))


# --- the policy ------------------------------------------------------------------------------


def test_logits_are_divided_by_the_temperature_then_bounded_by_tanh(space):
    controller = RNNController(space, 0, stage=2, temperature=2.0, tanh_constant=1.5)
    h = torch.randn(5, controller.hidden, generator=torch.Generator().manual_seed(0))
    for position in (0, 3, 6):
        raw = controller.policy.heads[position](h)
        assert torch.equal(controller._logits(position, h), 1.5 * torch.tanh(raw / 2.0))
    plain = RNNController(space, 0, stage=2)
    assert torch.equal(plain._logits(2, h), plain.policy.heads[2](h))


def test_a_proposal_with_every_cell_fixed_has_log_prob_and_entropy_zero(space):
    controller = RNNController(space, 0, stage=2)
    arch = space.prefix(space.from_index(12_345), 2)
    log_prob, entropy = controller.log_probs([Proposal(arch, 0.0, 0.0, fixed_cells=2)])
    assert log_prob.tolist() == [0.0] and entropy.tolist() == [0.0]
    # The documented shape of the indices, (B, length - F), holds when nothing is left to decide.
    tokens = torch.tensor([space.to_tokens(arch)] * 3)
    indices, log_prob, entropy = controller._roll(tokens, tokens.shape[1], tokens[:, :0])
    assert indices.shape == (3, 0) and indices.dtype == torch.long
    assert log_prob.tolist() == entropy.tolist() == [0.0, 0.0, 0.0]


# --- PPO's clip ------------------------------------------------------------------------------


def _surrogate_gradient(log_prob: float, advantage: float, clip: float) -> float:
    """d/d log p of -min(r A, clamp(r, 1 - clip, 1 + clip) A), r = p / p_sampling, by autograd."""
    lp = torch.tensor([log_prob], requires_grad=True)
    ratio = torch.exp(lp - torch.tensor([0.0]))
    surrogate = torch.minimum(ratio * advantage, torch.clamp(ratio, 1 - clip, 1 + clip) * advantage)
    (gradient,) = torch.autograd.grad(-surrogate.sum(), lp)
    return float(gradient)


def test_the_clipped_ratio_gives_ppos_gradient_inside_and_outside_the_clip_range(space):
    # Exactly on an edge the surrogate has no derivative (r A on one side, 0 on the other), so
    # either side's value is a subgradient; the edges are left out.
    controller = RNNController(space, 0, clip=0.2)
    for log_ratio in (-1.0, -0.3, -0.1, 0.0, 0.1, 0.3, 1.0):
        for advantage in (1.5, -0.5, 0.0):
            weight = controller._clipped_ratio(torch.tensor([log_ratio]), torch.tensor([0.0]), advantage)
            ours = -advantage * float(weight)  # the gradient of -(log p * A * weight)
            assert ours == pytest.approx(_surrogate_gradient(log_ratio, advantage, 0.2), rel=1e-6, abs=0.0), (
                log_ratio, advantage)


def test_per_sample_steps_are_adam_steps_on_ppos_clipped_surrogate(space):
    # A reference written from PPO's objective: each proposal's step minimises
    # -min(r A, clip(r) A) with r = p_now / p_sampling, replayed for every epoch.
    settings = dict(lr=2e-3, entropy_weight=1e-2, baseline_decay=0.8, epochs=2, clip=0.1, stage=2)
    controller, reference = RNNController(space, 0, **settings), RNNController(space, 0, **settings)
    for each in (controller, reference):
        each.update(each.sample(2), [0.4, 0.6])
    proposals = controller.sample(6)
    rewards = [0.9, 0.1, 0.8, 0.2, 0.7, 0.95]
    stats = controller.update(proposals, rewards)

    with torch.no_grad():
        behaviour, entropy = reference.log_probs(proposals)
    baseline, advantages = reference.baseline, []
    for reward, ent in zip(rewards, entropy.tolist()):
        shaped = reward + 1e-2 * ent
        advantages.append(shaped - baseline)
        baseline = 0.8 * baseline + 0.2 * shaped
    first_epoch_loss, ratios = 0.0, []
    for epoch in range(2):
        for proposal, sampled, advantage in zip(proposals, behaviour, advantages):
            log_prob, _ = reference.log_probs([proposal])
            ratio = torch.exp(log_prob - sampled)
            surrogate = torch.minimum(ratio * advantage, torch.clamp(ratio, 0.9, 1.1) * advantage)
            reference.optimizer.zero_grad(set_to_none=True)
            (-surrogate.sum()).backward()
            reference.optimizer.step()
            value = float(ratio.detach())
            ratios.append(value)
            if epoch == 0:
                clipped = value > 1.1 if advantage > 0 else value < 0.9
                first_epoch_loss += -float(log_prob.detach()) * advantage * (0.0 if clipped else value)
    assert any(abs(r - 1) > 0.1 for r in ratios) and any(1e-6 < abs(r - 1) < 0.1 for r in ratios), (
        "the test must see both clipped and unclipped ratios", ratios)

    for ours, theirs in zip(controller.policy.parameters(), reference.policy.parameters()):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert controller.baseline == pytest.approx(baseline, rel=1e-6)
    assert stats.loss == pytest.approx(first_epoch_loss, rel=1e-5)
    assert controller.updates == reference.updates + 12  # the same warm-up, then 6 proposals x 2 epochs
    assert stats.entropy == pytest.approx(sum(p.entropy for p in proposals) / 6, rel=1e-5)


# --- steps skipped and heads left alone ------------------------------------------------------


@pytest.mark.parametrize("update_rule", UPDATE_RULES)
def test_a_loss_that_overflows_in_every_step_is_reported_as_no_step(space, update_rule):
    # Finite rewards whose advantages times a log-probability exceed float32's range.
    controller = RNNController(space, 0, update_rule=update_rule)
    weights, steps = _weights(controller), controller.updates
    stats = controller.update(controller.sample(2), [3e38, -3e38])
    assert stats.stepped is False and stats.valid == 2
    assert controller.updates == steps
    assert all(torch.equal(a, b) for a, b in zip(weights, controller.policy.parameters()))


def test_an_update_with_no_valid_reward_reports_nan_loss_and_the_proposals_entropy(space):
    controller = RNNController(space, 0)
    proposals = controller.sample(3)
    stats = controller.update(proposals, [None, math.nan, -math.inf])
    assert stats.stepped is False and math.isnan(stats.loss) and math.isnan(stats.mean_reward)
    assert stats.entropy == pytest.approx(sum(p.entropy for p in proposals) / 3, rel=1e-6)


def test_the_heads_of_a_prefixs_decisions_are_not_moved_by_adams_momentum(space):
    # AutoGAN built a new controller per stage: a head whose decision the beam fixes gets no
    # gradient, and its old momentum must not keep moving it.
    controller = RNNController(space, 0, stage=2, lr=0.05)
    controller.update(controller.sample(4), [0.1, 0.9, 0.5, 0.3])
    cell_one = len(space.decisions(1))
    before = [p.detach().clone() for head in controller.policy.heads[:cell_one] for p in head.parameters()]
    decided = [p.detach().clone() for p in controller.policy.heads[cell_one].parameters()]
    proposals = controller.sample(4, prefix=space.prefix(space.from_index(777), 1))
    assert controller.update(proposals, [0.2, 0.8, 0.6, 0.4]).stepped
    after = [p for head in controller.policy.heads[:cell_one] for p in head.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    assert not all(torch.equal(a, b) for a, b in zip(decided, controller.policy.heads[cell_one].parameters()))


# --- the baseline ----------------------------------------------------------------------------


def test_the_batch_rule_moves_the_baseline_by_the_decay_to_the_batchs_power(space):
    controller = RNNController(space, 0, update_rule="batch", baseline_decay=0.7, entropy_weight=0.0)
    controller.update(controller.sample(1), [0.3])
    assert controller.baseline == pytest.approx(0.3)
    controller.update(controller.sample(3), [0.9, 0.6, 1.2])
    assert controller.baseline == pytest.approx(0.7**3 * 0.3 + (1 - 0.7**3) * 0.9, rel=1e-6)


def test_a_supernet_reset_restarts_the_baseline_from_the_next_batch(space):
    controller = RNNController(space, 0, entropy_weight=0.0, baseline_decay=0.5)
    controller.update(controller.sample(2), [0.2, 0.4])
    controller.on_supernet_reset()
    assert controller.baseline is None
    stats = controller.update(controller.sample(2), [2.0, 4.0])
    # Seeded with the batch's own mean, 3.0, then moved by each sample in turn.
    assert stats.baseline == pytest.approx(0.5 * (0.5 * 3.0 + 0.5 * 2.0) + 0.5 * 4.0, rel=1e-6)


# --- saved states ----------------------------------------------------------------------------


def test_a_loaded_state_brings_every_setting_and_the_seed(space):
    saved = RNNController(space, 3, temperature=1.5, tanh_constant=2.5, entropy_weight=0.01, baseline_decay=0.8,
                          update_rule="batch", epochs=3, clip=0.3, stage=2)
    saved.update(saved.sample(2), [0.2, 0.7])
    restored = RNNController(space, 0)
    restored.load_state_dict(_copy(saved.state_dict()))
    for name in ("temperature", "tanh_constant", "entropy_weight", "baseline_decay", "update_rule", "epochs",
                 "clip", "seed", "stage", "baseline", "updates"):
        assert getattr(restored, name) == getattr(saved, name), name
    assert restored.seed == 3
    assert [p.arch for p in restored.sample(4)] == [p.arch for p in saved.sample(4)]


def test_a_state_saved_before_per_sample_updates_loads_as_batch_steps_with_ppos_defaults(space):
    state = RNNController(space, 1).state_dict()
    for key in ("update_rule", "epochs", "clip"):
        del state["config"][key]
    restored = RNNController(space, 0, update_rule="per_sample", epochs=4, clip=0.5)
    restored.load_state_dict(state)
    assert (restored.update_rule, restored.epochs, restored.clip) == ("batch", 1, 0.2)
    assert restored.update(restored.sample(2), [0.1, 0.2]).stepped


def test_a_saved_state_does_not_change_when_the_controller_learns_on(space):
    controller = RNNController(space, 0, lr=0.05)
    state = controller.state_dict()
    model = {name: tensor.clone() for name, tensor in state["model"].items()}
    controller.update(controller.sample(3), [0.1, 0.5, 0.9])
    assert all(torch.equal(state["model"][name], tensor) for name, tensor in model.items())
    assert not all(torch.equal(controller.policy.state_dict()[name], tensor) for name, tensor in model.items())
