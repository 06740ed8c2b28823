"""The SN-ResNet discriminator of AutoGAN (SNGAN's CIFAR model), stage-aware."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from autogan.nn._init import init_autogan_, seeded_generator, untouched_global_rng


class SpectralNorm(nn.Module):
    """Parametrization ``W -> W / sigma(W)`` with one power iteration per training forward.

    Same semantics as ``torch.nn.utils.parametrizations.spectral_norm``; ours so that
    ``u``/``v`` are drawn from the network's own generator.  In eval mode ``u``/``v`` are
    not updated, so an eval-mode forward reuses the weight of the last training forward:
    the exact one-stage step relies on that for its extra input-gradient pass.
    """

    def __init__(self, weight: Tensor, generator: torch.Generator, power_iterations: int = 1, eps: float = 1e-12):
        super().__init__()
        self.power_iterations = power_iterations
        self.eps = eps
        matrix = self._matrix(weight)
        u = F.normalize(torch.randn(matrix.shape[0], generator=generator), dim=0, eps=eps)
        v = F.normalize(torch.randn(matrix.shape[1], generator=generator), dim=0, eps=eps)
        self.register_buffer("_u", u.to(weight.dtype))
        self.register_buffer("_v", v.to(weight.dtype))
        # As torch's version: start from a converged estimate, not from noise.
        self._power_method(matrix.detach(), 15)

    @staticmethod
    def _matrix(weight: Tensor) -> Tensor:
        return weight.flatten(1)  # (out, in * kh * kw)

    def _power_method(self, matrix: Tensor, iterations: int) -> None:
        # F.normalize's values with 4 ops fewer per iteration (a step runs this once per D
        # layer, so its dispatches are a good part of the step's host time): each product
        # is written straight into its buffer and normalized there.  The norm is the same
        # reduction, and dividing by it unexpanded the same per-element division, so the
        # result is bit for bit the same (tests/nn checks it against F.normalize).
        with torch.no_grad():
            for _ in range(iterations):
                torch.mv(matrix.t(), self._u, out=self._v)
                self._v.div_(torch.linalg.vector_norm(self._v).clamp_min_(self.eps))
                torch.mv(matrix, self._v, out=self._u)
                self._u.div_(torch.linalg.vector_norm(self._u).clamp_min_(self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        matrix = self._matrix(weight)
        if self.training:
            self._power_method(matrix, self.power_iterations)
        # Clones: a later training forward updates the buffers in place (as a CUDA graph
        # needs: fixed addresses), which must not invalidate this graph.
        u = self._u.clone()
        v = self._v.clone()
        sigma = torch.dot(u, torch.mv(matrix, v))
        return weight / sigma


class WeightGradScale:
    """Per-sample factors for D's *weight* gradients, filled in between forward and backward.

    ``scale`` is ``(N,)`` for a batch of N samples.  The input gradient is never scaled,
    so one backward can carry G's cotangent through D while D's parameters receive a
    different per-sample combination (see ``Discriminator.weight_grad_scaling``).
    Every sample's weight gradient is computed, those scaled by 0 included: skipping
    them would need their indices, a host sync per backward.
    """

    def __init__(self) -> None:
        self._scale: Tensor | None = None
        self._shaped: dict[tuple[torch.dtype, int], Tensor] = {}

    @property
    def scale(self) -> Tensor | None:
        return self._scale

    @scale.setter
    def scale(self, value: Tensor | None) -> None:
        self._scale = value
        self._shaped.clear()

    def factors(self, grad: Tensor) -> Tensor:
        """``scale`` in ``grad``'s dtype, shaped to broadcast over it: ``(N, 1, ...)``.

        Made once per dtype and rank, not once per layer: every D layer's backward asks.
        """
        key = (grad.dtype, grad.dim())
        shaped = self._shaped.get(key)
        if shaped is None:
            shaped = self._shaped[key] = self._scale.to(grad.dtype).view(-1, *([1] * (grad.dim() - 1)))
        return shaped


class _Slot:
    """Shared by a discriminator and its layers: the active ``WeightGradScale`` or None."""

    def __init__(self) -> None:
        self.current: WeightGradScale | None = None

    def __deepcopy__(self, memo) -> "_Slot":
        return _Slot()


def _scaled_output_gradient(grad: Tensor, holder: WeightGradScale) -> Tensor:
    """The layer's output gradient with sample ``i`` multiplied by ``holder.scale[i]``."""
    return grad * holder.factors(grad)


class _ScaledConv2dFunction(torch.autograd.Function):
    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.bfloat16)
    def forward(ctx, x, weight, bias, holder, stride, padding, dilation, groups):
        ctx.save_for_backward(x, weight)
        ctx.holder = holder
        ctx.conv = (stride, padding, dilation, groups, None if bias is None else [bias.shape[0]])
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, grad):  # grad: (N, C_out, H, W)
        x, weight = ctx.saved_tensors
        stride, padding, dilation, groups, bias_sizes = ctx.conv
        need_x, need_w, need_b = ctx.needs_input_grad[:3]

        def conv_backward(g, mask):
            return torch.ops.aten.convolution_backward(
                g, x, weight, bias_sizes, stride, padding, dilation, False, [0, 0], groups, mask
            )

        need_b = need_b and bias_sizes is not None
        if ctx.holder.scale is None:
            # Nothing to scale: one fused call, exactly the native backward.
            grad_x, grad_w, grad_b = conv_backward(grad, [need_x, need_w, need_b])
        else:
            grad_x = conv_backward(grad, [True, False, False])[0] if need_x else None
            _, grad_w, grad_b = conv_backward(_scaled_output_gradient(grad, ctx.holder), [False, need_w, need_b])
        return grad_x, grad_w, grad_b, None, None, None, None, None


class _ScaledLinearFunction(torch.autograd.Function):
    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.bfloat16)
    def forward(ctx, x, weight, bias, holder):
        ctx.save_for_backward(x, weight)
        ctx.holder = holder
        ctx.has_bias = bias is not None
        return F.linear(x, weight, bias)

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, grad):  # grad: (N, out)
        x, weight = ctx.saved_tensors
        grad_x = grad @ weight if ctx.needs_input_grad[0] else None
        if ctx.holder.scale is not None:
            grad = _scaled_output_gradient(grad, ctx.holder)
        grad_w = grad.t() @ x if ctx.needs_input_grad[1] else None
        grad_b = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b, None


class ScalableConv2d(nn.Conv2d):
    """``nn.Conv2d`` that can scale its weight gradient per sample (see ``WeightGradScale``)."""

    slot: _Slot | None = None

    def forward(self, x: Tensor) -> Tensor:
        holder = self.slot.current if self.slot is not None else None
        if holder is None:
            return super().forward(x)
        return _ScaledConv2dFunction.apply(
            x, self.weight, self.bias, holder, self.stride, self.padding, self.dilation, self.groups
        )


class ScalableLinear(nn.Linear):
    """``nn.Linear`` that can scale its weight gradient per sample (see ``WeightGradScale``)."""

    slot: _Slot | None = None

    def forward(self, x: Tensor) -> Tensor:
        holder = self.slot.current if self.slot is not None else None
        if holder is None:
            return super().forward(x)
        return _ScaledLinearFunction.apply(x, self.weight, self.bias, holder)


def _sn(module: nn.Module, generator: torch.Generator, enabled: bool) -> nn.Module:
    if enabled:
        parametrize.register_parametrization(module, "weight", SpectralNorm(module.weight.detach(), generator))
    return module


def _downsample(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, kernel_size=2)  # (B, C, H, W) -> (B, C, H/2, W/2)


class OptimizedDisBlock(nn.Module):
    """First block: conv -> ReLU -> conv -> avgpool, plus avgpool -> 1x1 conv shortcut."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.c1 = ScalableConv2d(in_ch, out_ch, 3, padding=1)
        self.c2 = ScalableConv2d(out_ch, out_ch, 3, padding=1)
        self.c_sc = ScalableConv2d(in_ch, out_ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = _downsample(self.c2(F.relu(self.c1(x))))
        return h + self.c_sc(_downsample(x))


class DisBlock(nn.Module):
    """Pre-activation residual block; a learned 1x1 shortcut when it downsamples or changes width."""

    def __init__(self, in_ch: int, out_ch: int, downsample: bool) -> None:
        super().__init__()
        self.downsample = downsample
        self.c1 = ScalableConv2d(in_ch, in_ch, 3, padding=1)
        self.c2 = ScalableConv2d(in_ch, out_ch, 3, padding=1)
        self.learnable_sc = in_ch != out_ch or downsample
        if self.learnable_sc:
            self.c_sc = ScalableConv2d(in_ch, out_ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.c2(F.relu(self.c1(F.relu(x))))
        if self.downsample:
            h = _downsample(h)
        shortcut = x
        if self.learnable_sc:
            shortcut = self.c_sc(x)
            if self.downsample:
                shortcut = _downsample(shortcut)
        return h + shortcut


class Discriminator(nn.Module):
    """SN-ResNet discriminator, ``df`` channels wide; ``forward(x, stage=None) -> (B, 1)``.

    For ``stages=3`` (the reference): ``block1`` optimized and downsampling, ``block2``
    downsampling, ``block3`` plain, then ``block4`` plain, ReLU, spatial sum and a linear
    layer without bias.  At ``stage`` s only ``block1..blocks`` run before ``block4``, so
    the 8, 16 and 32 px inputs of stages 1, 2, 3 (4 px bottom) each pass through the
    blocks the reference runs for them.  ``stage=None`` runs them all.

    ``extra_blocks`` (retraining only) inserts that many more residual blocks before the
    final one, downsampling when ``extra_downsample``: the deeper discriminator used at
    larger resolutions.  Every sample is processed independently (no batch norm), which
    one-stage steps require.
    """

    def __init__(
        self,
        df: int = 64,
        in_channels: int = 3,
        stages: int = 3,
        *,
        extra_blocks: int = 0,
        extra_downsample: bool = False,
        spectral_norm: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        for name, value in (("df", df), ("in_channels", in_channels), ("stages", stages)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Discriminator: {name}={value!r} must be a positive integer")
        if isinstance(extra_blocks, bool) or not isinstance(extra_blocks, int) or extra_blocks < 0:
            raise ValueError(f"Discriminator: extra_blocks={extra_blocks!r} must be a non-negative integer")
        self.df = df
        self.in_channels = in_channels
        self.stages = stages
        self.extra_blocks = extra_blocks
        self.extra_downsample = extra_downsample
        self.spectral_norm = spectral_norm
        generator = seeded_generator(seed)
        with untouched_global_rng():
            self._build(df, stages, extra_blocks, extra_downsample)
        init_autogan_(self, generator)
        # Spectral norm goes on after init so that its u/v estimate the initialized weights.
        self._slot = _Slot()
        for layer in list(self.modules()):
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                _sn(layer, generator, spectral_norm)
            if isinstance(layer, (ScalableConv2d, ScalableLinear)):
                layer.slot = self._slot

    @contextmanager
    def weight_grad_scaling(self) -> Iterator[WeightGradScale]:
        """Forwards inside this block let the caller scale D's weight gradients per sample.

        Set ``holder.scale`` (shape ``(N,)``) after the forward; the backward (inside or
        after the block) then gives D's weights ``sum_i scale_i * (sample i's gradient)``
        while the gradient to the input stays unscaled.  The exact one-stage step uses it
        for hinge: it back-propagates G's cotangent through fakes where D's own loss is
        flat and zeroes their weight contribution, all in one backward.  Double
        backward (gradient penalties) is not supported through this path.
        """
        holder = WeightGradScale()
        previous = self._slot.current
        self._slot.current = holder
        try:
            yield holder
        finally:
            self._slot.current = previous

    def _build(self, df: int, stages: int, extra_blocks: int, extra_downsample: bool) -> None:
        # Layers are built plain and initialized first; spectral norm is added afterwards.
        blocks = [OptimizedDisBlock(self.in_channels, df)]
        for index in range(1, stages):
            # The reference: block2 downsamples, block3 (the last staged block) does not.
            blocks.append(DisBlock(df, df, downsample=index < stages - 1))
        self.staged = nn.ModuleList(blocks)
        self.extra = nn.ModuleList(DisBlock(df, df, downsample=extra_downsample) for _ in range(extra_blocks))
        self.final = DisBlock(df, df, downsample=False)
        self.l5 = ScalableLinear(df, 1, bias=False)

    def config(self) -> dict:
        """Constructor arguments, for checkpoints that rebuild the model."""
        return {
            "df": self.df,
            "in_channels": self.in_channels,
            "stages": self.stages,
            "extra_blocks": self.extra_blocks,
            "extra_downsample": self.extra_downsample,
            "spectral_norm": self.spectral_norm,
        }

    def forward(self, x: Tensor, stage: int | None = None) -> Tensor:  # (B, C, H, W) -> (B, 1)
        if stage is None:
            stage = self.stages
        elif isinstance(stage, bool) or not isinstance(stage, int) or not 1 <= stage <= self.stages:
            raise ValueError(
                f"Discriminator: stage {stage!r} does not exist; this discriminator has stages 1..{self.stages}"
            )
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"Discriminator: input of shape {tuple(x.shape)} is not (B, {self.in_channels}, H, W); "
                f"build it with in_channels={x.shape[1] if x.dim() == 4 else '?'} or fix the images"
            )
        h = x
        for block in self.staged[:stage]:
            h = block(h)
        for block in self.extra:
            h = block(h)
        h = F.relu(self.final(h))
        h = h.sum(dim=(2, 3))  # (B, df)
        return self.l5(h)  # (B, 1)
