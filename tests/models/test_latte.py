"""Class-conditional Latte: shapes, learning, CFG null label, checkpoint conversion, bad checkpoints."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vddlib.models.latte import LATTE_SIZES, LatteClassConditional
from vddlib.models.latte_convert import load_original_latte, original_to_ours, ours_to_original

TINY = dict(sample_size=8, num_frames=4, in_channels=4, num_classes=5, hidden_size=32, depth=2, num_heads=2,
            patch_size=2)


def tiny(**kw) -> LatteClassConditional:
    torch.manual_seed(0)
    m = LatteClassConditional(**{**TINY, **kw})
    with torch.no_grad():                 # leave Latte's zero init: outputs would all be 0 and tests vacuous
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return m.eval()


def test_tiny_shapes():
    m = tiny(learn_sigma=True)
    x = torch.randn(3, 4, 4, 8, 8)
    out = m(x, torch.tensor([1, 500, 999]), torch.tensor([0, 4, 5]))         # 5 = null label
    assert out.shape == (3, 4, 8, 8, 8)
    assert m(x[:, :2], torch.tensor(3), torch.tensor([0, 1, 2])).shape == (3, 2, 8, 8, 8)   # fewer frames


def test_paper_size_on_meta_device():
    """Latte-XL/2 on 16×4×32×32 latents: the public model's 674 M parameters."""
    with torch.device("meta"):
        m = LatteClassConditional(sample_size=32, num_frames=16, num_classes=101, **LATTE_SIZES["XL/2"])
        out = m(torch.empty(2, 16, 4, 32, 32), torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long))
    assert out.shape == (2, 16, 8, 32, 32)
    assert 673e6 < sum(p.numel() for p in m.parameters()) < 675e6
    assert m.label_embedding.embedding_table.weight.shape == (102, 1152)     # 101 classes + null


def test_bad_config():
    with pytest.raises(ValueError, match="depth must be even"):
        LatteClassConditional(**{**TINY, "depth": 3})
    with pytest.raises(ValueError, match="multiple of patch_size"):
        LatteClassConditional(**{**TINY, "sample_size": 7})


def test_loss_falls_in_a_few_steps():
    torch.manual_seed(0)
    m = LatteClassConditional(**TINY, learn_sigma=False).train()
    x0 = torch.randn(8, 4, 4, 8, 8) * 0.5 + torch.arange(8).view(8, 1, 1, 1, 1) % 5 * 0.3
    y = torch.arange(8) % 5
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    alphas = torch.cos(torch.linspace(0, math.pi / 2 * 0.98, 1000)) ** 2
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(40):
        t = torch.randint(0, 1000, (8,), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        a = alphas[t].view(-1, 1, 1, 1, 1)
        loss = F.mse_loss(m(a.sqrt() * x0 + (1 - a).sqrt() * noise, t, y), noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5, losses


def test_cfg_uses_the_null_label():
    m = tiny(learn_sigma=True)
    x = torch.randn(2, 4, 4, 8, 8)
    t, y = torch.tensor([10, 700]), torch.tensor([1, 3])
    cond = m(x, t, y)[:, :, :4]
    uncond = m(x, t, torch.full_like(y, m.null_label))[:, :, :4]
    assert not torch.allclose(cond, uncond)
    assert torch.allclose(m.forward_with_cfg(x, t, y, 1.0), cond, atol=1e-6)
    assert torch.allclose(m.forward_with_cfg(x, t, y, 4.0), uncond + 4.0 * (cond - uncond), atol=1e-5)


def test_label_dropout_only_in_training():
    m = tiny(class_dropout_prob=1.0)
    t, y = torch.tensor([5, 5]), torch.tensor([0, 2])
    null = m.label_embedding.embedding_table.weight[m.null_label]
    m.train()
    assert torch.allclose(m.condition(t, y) - m.time_embedding(m.time_proj(t)), null.expand(2, -1), atol=1e-6)
    m.eval()
    assert not torch.allclose(m.condition(t, y) - m.time_embedding(m.time_proj(t)), null.expand(2, -1))


def test_save_and_load_pretrained(tmp_path):
    m = tiny()
    m.save_pretrained(tmp_path / "latte")
    back = LatteClassConditional.from_pretrained(tmp_path / "latte")
    assert (tmp_path / "latte" / "diffusion_pytorch_model.safetensors").is_file()
    x, t, y = torch.randn(1, 4, 4, 8, 8), torch.tensor([3]), torch.tensor([2])
    assert torch.equal(m(x, t, y), back.eval()(x, t, y))


# --------------------------------------------------------------------------- the original layout
def reference_latte_forward(sd, x, t, y, heads):
    """The original repository's class-conditional forward, written independently over its state dict."""
    B, Fr, C, H, W = x.shape
    w = sd["x_embedder.proj.weight"]
    D, p = w.shape[0], w.shape[2]
    h = F.conv2d(x.reshape(B * Fr, C, H, W), w, sd["x_embedder.proj.bias"], stride=p).flatten(2).transpose(1, 2)
    h = h + sd["pos_embed"]
    half = 128
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    temb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    temb = F.linear(F.silu(F.linear(temb, sd["t_embedder.mlp.0.weight"], sd["t_embedder.mlp.0.bias"])),
                    sd["t_embedder.mlp.2.weight"], sd["t_embedder.mlp.2.bias"])
    c = temb + sd["y_embedder.embedding_table.weight"][y]
    N = h.shape[1]

    def block(i, h, c):
        pre = f"blocks.{i}."
        mod = F.linear(F.silu(c), sd[pre + "adaLN_modulation.1.weight"], sd[pre + "adaLN_modulation.1.bias"])
        s1, sc1, g1, s2, sc2, g2 = mod.chunk(6, dim=1)
        a = F.layer_norm(h, (D,), eps=1e-6) * (1 + sc1[:, None]) + s1[:, None]
        qkv = F.linear(a, sd[pre + "attn.qkv.weight"], sd[pre + "attn.qkv.bias"])
        q, k, v = qkv.reshape(a.shape[0], a.shape[1], 3, heads, D // heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // heads), dim=-1) @ v
        att = F.linear(att.transpose(1, 2).reshape(a.shape), sd[pre + "attn.proj.weight"], sd[pre + "attn.proj.bias"])
        h = h + g1[:, None] * att
        m = F.layer_norm(h, (D,), eps=1e-6) * (1 + sc2[:, None]) + s2[:, None]
        m = F.linear(F.gelu(F.linear(m, sd[pre + "mlp.fc1.weight"], sd[pre + "mlp.fc1.bias"]), approximate="tanh"),
                     sd[pre + "mlp.fc2.weight"], sd[pre + "mlp.fc2.bias"])
        return h + g2[:, None] * m

    depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
    cs, ct = c.repeat_interleave(Fr, 0), c.repeat_interleave(N, 0)
    for i in range(0, depth, 2):
        h = block(i, h, cs)
        h = h.reshape(B, Fr, N, D).transpose(1, 2).reshape(B * N, Fr, D)
        if i == 0:
            h = h + sd["temp_embed"]
        h = block(i + 1, h, ct)
        h = h.reshape(B, N, Fr, D).transpose(1, 2).reshape(B * Fr, N, D)
    shift, scale = F.linear(F.silu(cs), sd["final_layer.adaLN_modulation.1.weight"],
                            sd["final_layer.adaLN_modulation.1.bias"]).chunk(2, dim=1)
    h = F.layer_norm(h, (D,), eps=1e-6) * (1 + scale[:, None]) + shift[:, None]
    h = F.linear(h, sd["final_layer.linear.weight"], sd["final_layer.linear.bias"])
    oc = h.shape[-1] // (p * p)
    g = H // p
    h = h.reshape(B * Fr, g, g, p, p, oc).permute(0, 5, 1, 3, 2, 4).reshape(B * Fr, oc, H, W)
    return h.reshape(B, Fr, oc, H, W)


def test_converter_matches_the_original_forward_and_round_trips(tmp_path):
    m = tiny(learn_sigma=True)
    sd = ours_to_original(m)
    assert "blocks.0.attn.qkv.weight" in sd and "y_embedder.embedding_table.weight" in sd
    x, t, y = torch.randn(2, 4, 4, 8, 8), torch.tensor([17, 640]), torch.tensor([0, 3])
    with torch.no_grad():
        assert torch.allclose(reference_latte_forward(sd, x, t, y, heads=2), m(x, t, y), atol=1e-5)
    torch.save({"ema": sd, "model": {k: v * 0 for k, v in sd.items()}}, tmp_path / "latte.pt")
    back = load_original_latte(tmp_path / "latte.pt", num_heads=2, sample_size=8, num_frames=4).eval()
    assert back.config.learn_sigma and back.config.num_classes == 5 and back.config.depth == 2
    with torch.no_grad():
        assert torch.equal(back(x, t, y), m(x, t, y))                         # the EMA weights were taken
    assert set(original_to_ours(sd)) == set(m.state_dict())


def test_converter_refuses_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))
    torch.save({"ema": {"x": Evil()}}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="(?i)weights_only|unsupported|global"):
        load_original_latte(tmp_path / "evil.pt")


def test_wrong_shape_and_class_count_are_clear_errors(tmp_path):
    m = tiny()
    torch.save(ours_to_original(m), tmp_path / "latte.pt")
    with pytest.raises(ValueError, match="sample_size wanted 32, checkpoint has 8"):
        load_original_latte(tmp_path / "latte.pt", num_heads=2, sample_size=32)
    with pytest.raises(ValueError, match="has 5 classes but the dataset has 7.*reinit_labels"):
        load_original_latte(tmp_path / "latte.pt", num_classes=7, num_heads=2)
    grown = load_original_latte(tmp_path / "latte.pt", num_classes=7, num_heads=2, reinit_labels=True)
    table = grown.label_embedding.embedding_table.weight
    assert table.shape == (8, 32)
    assert torch.equal(table[-1], m.label_embedding.embedding_table.weight[-1])   # null label kept
    with pytest.raises(FileNotFoundError, match="ucf101.pt"):
        load_original_latte(tmp_path / "missing.pt")
    torch.save({"net.weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(KeyError, match="Not a class-conditional Latte checkpoint"):
        load_original_latte(tmp_path / "other.pt")
