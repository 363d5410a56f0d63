"""Load the original Latte repository's class-conditional checkpoint into LatteClassConditional.

The paper fine-tunes Latte from its public UCF101 checkpoint, a `.pt` state dict in the
original layout (timm-style `qkv` / `mlp.fc1` / `adaLN_modulation` names), sometimes
wrapped as {"ema": ..., "model": ...}. It is read with `torch.load(weights_only=True)`,
which refuses pickled code, so an untrusted file cannot run anything.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import torch

from .latte import LatteClassConditional

_DIRECT = {
    "x_embedder.proj.weight": "patch_embed.proj.weight",
    "x_embedder.proj.bias": "patch_embed.proj.bias",
    "t_embedder.mlp.0.weight": "time_embedding.linear_1.weight",
    "t_embedder.mlp.0.bias": "time_embedding.linear_1.bias",
    "t_embedder.mlp.2.weight": "time_embedding.linear_2.weight",
    "t_embedder.mlp.2.bias": "time_embedding.linear_2.bias",
    "y_embedder.embedding_table.weight": "label_embedding.embedding_table.weight",
    "final_layer.adaLN_modulation.1.weight": "proj_out_1.weight",
    "final_layer.adaLN_modulation.1.bias": "proj_out_1.bias",
    "final_layer.linear.weight": "proj_out_2.weight",
    "final_layer.linear.bias": "proj_out_2.bias",
}
_BLOCK = {
    "adaLN_modulation.1": "norm1.linear",
    "attn.proj": "attn.to_out.0",
    "mlp.fc1": "ff.net.0.proj",
    "mlp.fc2": "ff.net.2",
}
_FIXED = ("pos_embed", "temp_embed")   # sin-cos tables: recomputed by our model, checked not copied


def original_to_ours(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename (and split qkv) an original-layout state dict into ours. Fixed sin-cos tables are dropped."""
    out = {}
    for k, v in sd.items():
        if k in _DIRECT:
            out[_DIRECT[k]] = v
        elif k in _FIXED:
            continue
        elif m := re.fullmatch(r"blocks\.(\d+)\.attn\.qkv\.(weight|bias)", k):
            for name, part in zip(("to_q", "to_k", "to_v"), v.chunk(3, dim=0)):
                out[f"blocks.{m[1]}.attn.{name}.{m[2]}"] = part.contiguous()
        elif m := re.fullmatch(r"blocks\.(\d+)\.(.+)\.(weight|bias)", k):
            if m[2] not in _BLOCK:
                raise KeyError(f"Unexpected key {k!r}: not a class-conditional Latte checkpoint")
            out[f"blocks.{m[1]}.{_BLOCK[m[2]]}.{m[3]}"] = v
        else:
            raise KeyError(f"Unexpected key {k!r}: not a class-conditional Latte checkpoint "
                           "(text-to-video Latte checkpoints belong to diffusers' LatteTransformer3DModel)")
    return out


def ours_to_original(model: LatteClassConditional) -> dict[str, torch.Tensor]:
    """Our weights in the original layout (with the fixed tables), e.g. to compare with Latte's code."""
    inv_direct = {v: k for k, v in _DIRECT.items()}
    inv_block = {v: k for k, v in _BLOCK.items()}
    sd = model.state_dict()
    out = {"pos_embed": model.patch_embed.pos_embed.detach().clone(), "temp_embed": model.temp_embed.detach().clone()}
    for k, v in sd.items():
        if k in inv_direct:
            out[inv_direct[k]] = v
        elif m := re.fullmatch(r"blocks\.(\d+)\.attn\.to_([qkv])\.(weight|bias)", k):
            if m[2] == "q":
                qkv = [sd[f"blocks.{m[1]}.attn.to_{n}.{m[3]}"] for n in "qkv"]
                out[f"blocks.{m[1]}.attn.qkv.{m[3]}"] = torch.cat(qkv, dim=0)
        elif m := re.fullmatch(r"blocks\.(\d+)\.(.+)\.(weight|bias)", k):
            out[f"blocks.{m[1]}.{inv_block[m[2]]}.{m[3]}"] = v
    return out


def config_from_original(sd: dict[str, torch.Tensor], num_heads: int) -> dict:
    """Infer our config from the shapes of an original-layout state dict."""
    try:
        w = sd["x_embedder.proj.weight"]
        hidden, in_ch, p = w.shape[0], w.shape[1], w.shape[2]
        n_tokens = sd["pos_embed"].shape[1]
        out_dim = sd["final_layer.linear.weight"].shape[0]
        depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
        table = sd["y_embedder.embedding_table.weight"].shape[0]
        frames = sd["temp_embed"].shape[1]
    except KeyError as e:
        raise KeyError(f"Not a class-conditional Latte checkpoint: it lacks {e}") from None
    return dict(sample_size=int(math.isqrt(n_tokens)) * p, num_frames=frames, in_channels=in_ch, patch_size=p,
                hidden_size=hidden, depth=depth, num_heads=num_heads, num_classes=table - 1,
                learn_sigma=out_dim == p * p * in_ch * 2)


def read_original_checkpoint(path: str | Path, prefer: str = "ema") -> dict[str, torch.Tensor]:
    """The state dict of an original Latte `.pt` (EMA weights when present), read without unpickling code."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No Latte checkpoint at {path}; download the class-conditional UCF101 "
                                "checkpoint (ucf101.pt) from the Latte release and pass its path.")
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and prefer in obj and isinstance(obj[prefer], dict):
        obj = obj[prefer]
    elif isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    return {k.removeprefix("module."): v for k, v in obj.items()}


def load_original_latte(path: str | Path, num_classes: int | None = None, num_heads: int = 16,
                        reinit_labels: bool = False, **expect) -> LatteClassConditional:
    """Build our model from an original checkpoint.

    `expect` (e.g. sample_size=32, num_frames=16) must match the checkpoint, else a clear error.
    `num_classes` different from the checkpoint's needs `reinit_labels=True`: the label table
    is then new (std 0.02) except the null row, which keeps the checkpoint's.
    """
    sd = read_original_checkpoint(path)
    cfg = config_from_original(sd, num_heads)
    wrong = {k: (v, cfg[k]) for k, v in expect.items() if k in cfg and cfg[k] != v}
    if wrong:
        raise ValueError(f"Checkpoint {path} does not fit the requested model: "
                         + ", ".join(f"{k} wanted {a}, checkpoint has {b}" for k, (a, b) in wrong.items())
                         + ". Change the profile's diffusion settings to the checkpoint's, or pick another checkpoint.")
    ours = original_to_ours(sd)
    if num_classes is not None and num_classes != cfg["num_classes"]:
        if not reinit_labels:
            raise ValueError(f"Checkpoint {path} has {cfg['num_classes']} classes but the dataset has {num_classes}. "
                             "Set reinit_labels=True (profile: diffusion.reinit_labels: true) to start a new "
                             "label table, keeping the checkpoint's null label.")
        old = ours["label_embedding.embedding_table.weight"]
        table = torch.randn(num_classes + 1, old.shape[1], generator=torch.Generator().manual_seed(0)) * 0.02
        table[-1] = old[-1]
        ours["label_embedding.embedding_table.weight"] = table
        cfg["num_classes"] = num_classes
    model = LatteClassConditional(**cfg)
    # The fixed sin-cos tables must agree with what our model computes, or positions would shift.
    for name, ours_tab in (("pos_embed", model.patch_embed.pos_embed), ("temp_embed", model.temp_embed)):
        if not torch.allclose(sd[name].float(), ours_tab, atol=1e-4):
            raise ValueError(f"Checkpoint {path}: its {name} differs from the sin-cos table Latte computes; "
                             "the file is not an unmodified Latte checkpoint.")
    missing, unexpected = model.load_state_dict(ours, strict=False)
    if missing or unexpected:
        raise ValueError(f"Checkpoint {path} does not match Latte's layout: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}")
    return model
