"""VST-UNet (§3.1): a spatio-temporal U-Net over *all* N_c latent videos of one class at once.

Input (N, T, C, h, w): the class's N latent videos. Inside each video, 3-D convolutions
mix space and time through a two-level U-Net (down in space, up with a skip). Across the
class's videos, a mixing layer after each level lets every video's features depend on
the others - which is what makes a *set* selector:

- "attention" (default): self-attention over the N videos' pooled features, with no
  position encoding, so the output does not depend on the (meaningless) order of the
  pool - permutation-equivariant;
- "conv": a 1-D convolution (kernel 3) along the videos axis, the literal reading of a
  convolutional U-Net over the stacked pool; it depends on the order;
- "none": no mixing (each video scored alone), for the ablation.

Outputs per video: a selection logit, class logits and the embedding of the penultimate
layer. Shapes are small enough that one class is one batch; several classes (pools of
equal size) go through in one call with `groups`, mixed only within their own class.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

MIXING = ("attention", "conv", "none")


class VideoMixer(nn.Module):
    """Add to each video's feature map a vector computed from all videos' pooled features."""

    def __init__(self, channels: int, mode: str, heads: int = 4):
        super().__init__()
        self.mode = mode
        if mode == "attention":
            self.norm = nn.LayerNorm(channels)
            self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)
        elif mode == "conv":
            self.conv = nn.Conv1d(channels, channels, 3, padding=1)
        if mode != "none":
            self.out = nn.Linear(channels, channels)
            nn.init.zeros_(self.out.weight)            # starts as identity: mixing is learned, not imposed
            nn.init.zeros_(self.out.bias)

    def forward(self, f: torch.Tensor, groups: int = 1) -> torch.Tensor:   # f: (G·n, ch, T, h, w)
        if self.mode == "none":
            return f
        p = f.mean(dim=(2, 3, 4)).unflatten(0, (groups, -1))   # (G, n, ch): each group is one class's videos
        if self.mode == "attention":
            q = self.norm(p)
            m = self.attn(q, q, q, need_weights=False)[0]
        else:
            m = self.conv(p.transpose(1, 2)).transpose(1, 2)
        return f + self.out(F.silu(m.flatten(0, 1)))[:, :, None, None, None]


def _block(cin: int, cout: int, stride=1) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(cin, cout, 3, stride=stride, padding=1), nn.GroupNorm(min(8, cout), cout), nn.SiLU())


class VSTUNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, int] = (32, 64), embed_dim: int = 64,
                 mixing: str = "attention", heads: int = 4):
        super().__init__()
        if mixing not in MIXING:
            raise ValueError(f"VST-UNet mixing must be one of {MIXING}; got {mixing!r}")
        w1, w2 = widths
        self.enc1, self.mix1 = _block(in_channels, w1), VideoMixer(w1, mixing, heads)
        self.down, self.mix2 = _block(w1, w2, stride=(1, 2, 2)), VideoMixer(w2, mixing, heads)
        # up: nearest ×2 in space, then a convolution over [upsampled, skip] (a CPU ConvTranspose3d is ~10x slower)
        self.dec, self.mix3 = _block(w2 + w1, w1), VideoMixer(w1, mixing, heads)
        self.embed = nn.Sequential(nn.Linear(w1 + w2, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim))
        self.class_head = nn.Linear(embed_dim, num_classes)
        self.score_head = nn.Linear(embed_dim, 1)

    def forward(self, x: torch.Tensor, groups: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (N, T, C, h, w) → (selection logits (N,), class logits (N, K), embeddings (N, D)).

        `groups` > 1: x holds that many classes' pools of N/groups videos each, one after the
        other; videos are mixed only with their own group (the same outputs as one call per group).
        """
        if len(x) % groups:
            raise ValueError(f"VST-UNet got {len(x)} videos for {groups} groups; groups must be of equal size.")
        # (N, C, T, h, w), channels last: the 3-D convolutions' backward is ~1.25x faster on CPU in this layout
        x = x.transpose(1, 2).contiguous(memory_format=torch.channels_last_3d)
        s1 = self.mix1(self.enc1(x), groups)
        s2 = self.mix2(self.down(s1), groups)
        u = F.interpolate(s2, size=s1.shape[2:], mode="nearest")
        d = self.mix3(self.dec(torch.cat([u, s1], dim=1)), groups)
        emb = self.embed(torch.cat([d.mean(dim=(2, 3, 4)), s2.mean(dim=(2, 3, 4))], dim=1))
        return self.score_head(F.silu(emb))[:, 0], self.class_head(F.silu(emb)), emb
