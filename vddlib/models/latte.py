"""Class-conditional Latte (Ma et al., 2024): a video DiT over autoencoder latents.

Faithful to the original repository's class-conditional model (`models/latte.py`,
"Latte" variant 1) and built from diffusers' own blocks, so `save_pretrained` /
`from_pretrained` work on local folders:

* per-frame patch embedding of the latents + fixed 2-D sin-cos position embedding;
* blocks alternate: even ones attend within a frame (spatial), odd ones across frames at
  one patch position (temporal); a fixed 1-D sin-cos frame embedding is added before the
  first temporal block;
* conditioning c = timestep embedding + label embedding (classes + 1 null label, label
  dropout 0.1 for classifier-free guidance), shared by all blocks, each of which turns
  it into its own adaLN-Zero shift/scale/gate;
* an adaLN final layer; with `learn_sigma` the output has 2× channels (ε and the
  variance interpolation), as Latte and DiT predict.

diffusers' `LatteTransformer3DModel` is the text-conditioned variant (caption projection
and cross-attention, no label input), so it cannot load the class-conditional weights.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention
from diffusers.models.embeddings import (LabelEmbedding, PatchEmbed, TimestepEmbedding, Timesteps,
                                         get_1d_sincos_pos_embed_from_grid)
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.normalization import AdaLayerNormZero

from ..hardware import attention_context

# Named sizes: Latte-XL/2 is the paper's; the tiny one is the CPU default.
LATTE_SIZES = {
    "XL/2": dict(hidden_size=1152, depth=28, num_heads=16, patch_size=2),
    "L/2": dict(hidden_size=1024, depth=24, num_heads=16, patch_size=2),
    "B/2": dict(hidden_size=768, depth=12, num_heads=12, patch_size=2),
    "S/2": dict(hidden_size=384, depth=12, num_heads=6, patch_size=2),
    "small": dict(hidden_size=192, depth=6, num_heads=6, patch_size=2),
    "tiny": dict(hidden_size=128, depth=4, num_heads=4, patch_size=2),
}


class LatteBlock(nn.Module):
    """adaLN-Zero transformer block: the shared conditioning modulates norm, attention and MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = AdaLayerNormZero(dim)          # shift/scale/gate ×2 from c, as Latte's adaLN_modulation
        self.attn = Attention(query_dim=dim, heads=heads, dim_head=dim // heads, bias=True, out_bias=True)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ff = FeedForward(dim, mult=mlp_ratio, activation_fn="gelu-approximate", bias=True)
        self.attention = "auto"             # the SDPA kernel (LatteClassConditional.set_attention)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.norm1(x, emb=c)
        with attention_context(self.attention):     # inside the block, so checkpointing recomputes with the same kernel
            a = self.attn(h)
        x = x + gate_msa[:, None] * a
        h = self.norm2(x) * (1 + scale_mlp[:, None]) + shift_mlp[:, None]
        return x + gate_mlp[:, None] * self.ff(h)


class LatteClassConditional(ModelMixin, ConfigMixin):
    """Input latents (B, F, C, H, W), timesteps (B,), labels (B,); output (B, F, C or 2C, H, W)."""

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(self, sample_size: int = 32, num_frames: int = 16, in_channels: int = 4, patch_size: int = 2,
                 hidden_size: int = 1152, depth: int = 28, num_heads: int = 16, mlp_ratio: float = 4.0,
                 num_classes: int = 101, class_dropout_prob: float = 0.1, learn_sigma: bool = True,
                 class_names: list[str] | None = None) -> None:
        super().__init__()          # class_names: what label k means, kept in config.json (None: not recorded)
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"class_names has {len(class_names)} names for num_classes={num_classes}")
        if depth % 2:
            raise ValueError(f"Latte alternates spatial and temporal blocks, so depth must be even; got {depth}")
        if sample_size % patch_size:
            raise ValueError(f"sample_size ({sample_size}) must be a multiple of patch_size ({patch_size})")
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size ({hidden_size}) must be divisible by num_heads ({num_heads})")
        self.out_channels = in_channels * 2 if learn_sigma else in_channels
        self.gradient_checkpointing = False
        self.checkpoint_ratio = 1.0          # with gradient checkpointing: the share of blocks (from the first) recomputed
        self.patch_embed = PatchEmbed(height=sample_size, width=sample_size, patch_size=patch_size,
                                      in_channels=in_channels, embed_dim=hidden_size, bias=True)
        frame_pos = get_1d_sincos_pos_embed_from_grid(hidden_size, torch.arange(num_frames), output_type="pt")
        self.register_buffer("temp_embed", frame_pos.float()[None], persistent=False)
        # DiT/Latte's timestep features are [cos, sin] with no frequency shift.
        self.time_proj = Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(256, hidden_size)
        self.label_embedding = LabelEmbedding(num_classes, hidden_size, class_dropout_prob)
        self.blocks = nn.ModuleList([LatteBlock(hidden_size, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm_out = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.proj_out_1 = nn.Linear(hidden_size, 2 * hidden_size)
        self.proj_out_2 = nn.Linear(hidden_size, patch_size * patch_size * self.out_channels)
        self._init_weights()

    def _init_weights(self) -> None:
        """Latte's initialisation: xavier linears, zeroed adaLN and output layers (identity blocks at start)."""
        def basic(m):
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.apply(basic)
        w = self.patch_embed.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.patch_embed.proj.bias)
        nn.init.normal_(self.label_embedding.embedding_table.weight, std=0.02)
        nn.init.normal_(self.time_embedding.linear_1.weight, std=0.02)
        nn.init.normal_(self.time_embedding.linear_2.weight, std=0.02)
        for b in self.blocks:
            nn.init.zeros_(b.norm1.linear.weight)
            nn.init.zeros_(b.norm1.linear.bias)
        for layer in (self.proj_out_1, self.proj_out_2):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    @property
    def null_label(self) -> int:
        return self.config.num_classes

    def condition(self, timestep: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """c = t_emb + y_emb; label dropout applies in training mode only (LabelEmbedding's rule)."""
        t = self.time_embedding(self.time_proj(timestep).to(self.dtype))
        return t + self.label_embedding(labels, force_drop_ids=None)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, class_labels: torch.Tensor) -> torch.Tensor:
        B, Fr, C, H, W = sample.shape
        if Fr > self.temp_embed.shape[1]:
            raise ValueError(f"{Fr} frames exceed the model's num_frames={self.config.num_frames}")
        if timestep.ndim == 0:
            timestep = timestep.expand(B)
        p = self.config.patch_size
        x = self.patch_embed(sample.reshape(B * Fr, C, H, W))            # (B·F, N, D), position added
        N, D = x.shape[1:]
        c = self.condition(timestep, class_labels)                       # (B, D)
        c_spatial = c.repeat_interleave(Fr, dim=0)                       # one per frame
        c_temporal = c.repeat_interleave(N, dim=0)                       # one per patch position
        for i in range(0, len(self.blocks), 2):
            x = self._run(i, x, c_spatial)
            x = x.view(B, Fr, N, D).transpose(1, 2).reshape(B * N, Fr, D)
            if i == 0:
                x = x + self.temp_embed[:, :Fr].to(x.dtype)
            x = self._run(i + 1, x, c_temporal)
            x = x.view(B, N, Fr, D).transpose(1, 2).reshape(B * Fr, N, D)
        shift, scale = self.proj_out_1(F.silu(c_spatial)).chunk(2, dim=1)
        x = self.proj_out_2(self.norm_out(x) * (1 + scale[:, None]) + shift[:, None])
        # unpatchify exactly as Latte: (n, h, w, p, q, c) → (n, c, h·p, w·q)
        h, w = H // p, W // p
        x = x.view(B * Fr, h, w, p, p, self.out_channels)
        x = torch.einsum("nhwpqc->nchpwq", x).reshape(B * Fr, self.out_channels, H, W)
        return x.view(B, Fr, self.out_channels, H, W)

    def _run(self, i: int, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        block = self.blocks[i]
        if (self.gradient_checkpointing and torch.is_grad_enabled()
                and i < round(self.checkpoint_ratio * len(self.blocks))):
            return torch.utils.checkpoint.checkpoint(block, x, c, use_reentrant=False)
        return block(x, c)

    def set_attention(self, name: str) -> None:
        """Run every block's attention on SDPA kernel `name` (resolve it with vddlib.hardware.attention_backend)."""
        for block in self.blocks:
            block.attention = name

    def compile_blocks(self, **options) -> None:
        """torch.compile each block in place ("regional" compilation): one graph per block shape (spatial and
        temporal), compiled once and reused by every block; parameter names and saved weights stay as they are."""
        for block in self.blocks:
            block.compile(**options)

    def forward_with_cfg(self, sample: torch.Tensor, timestep: torch.Tensor, class_labels: torch.Tensor,
                         guidance_scale: float) -> torch.Tensor:
        """ε with classifier-free guidance: one batched pass over (labels, null labels); returns C channels."""
        C = self.config.in_channels
        if guidance_scale == 1.0:
            return self(sample, timestep, class_labels)[:, :, :C]
        null = torch.full_like(class_labels, self.null_label)
        t = timestep.expand(len(sample)) if timestep.ndim == 0 else timestep
        out = self(torch.cat([sample, sample]), torch.cat([t, t]), torch.cat([class_labels, null]))[:, :, :C]
        cond, uncond = out.chunk(2)
        return uncond + guidance_scale * (cond - uncond)
