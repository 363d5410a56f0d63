"""GPU-throughput switches on CPU: FLOP counting, peaks, attention kernels and their fall-back, checkpointing,
compiled blocks, fused updates, the data path; each must leave the model's arithmetic as it was."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.diffusion.test_diffusion_training import small_cfg, toy_latents
from benchmarks.throughput import latte_flops, latte_flops_formula, measure_sampling, measure_training, peak_tflops
from vddlib.diffusion.train import LatteTrainConfig, place_training_data, train_latte
from vddlib.hardware import attention_backend, attention_context
from vddlib.models.latte import LATTE_SIZES, LatteClassConditional

TINY = dict(sample_size=8, num_frames=4, in_channels=4, num_classes=3, learn_sigma=True, **LATTE_SIZES["tiny"])


def tiny_model(seed=0, **kw):
    torch.manual_seed(seed)
    m = LatteClassConditional(**{**TINY, **kw})
    for p in m.parameters():                     # adaLN-Zero starts every block as the identity: wake them up
        p.data.add_(0.05 * torch.randn_like(p))
    return m


def tiny_batch(n=3):
    g = torch.Generator().manual_seed(1)
    return (torch.randn(n, TINY["num_frames"], 4, 8, 8, generator=g), torch.randint(0, 1000, (n,), generator=g),
            torch.randint(0, 3, (n,), generator=g))


@pytest.mark.parametrize("shape", [dict(sample_size=32, num_frames=16, learn_sigma=True, size="XL/2"),
                                   dict(sample_size=16, num_frames=6, learn_sigma=False, size="tiny", mlp_ratio=2.0)])
def test_counted_flops_match_the_architecture(shape):
    shape = dict(shape)
    cfg = dict(in_channels=4, num_classes=7, mlp_ratio=4.0, **LATTE_SIZES[shape.pop("size")])
    cfg.update(shape)
    fwd = latte_flops(cfg)
    assert fwd == pytest.approx(latte_flops_formula(cfg), rel=1e-9)
    assert latte_flops(cfg, batch=3) == pytest.approx(3 * fwd)
    assert latte_flops(cfg, guidance=True) == pytest.approx(2 * fwd)
    assert 2.95 < latte_flops(cfg, train=True) / fwd < 3.05          # backward: twice the forward


def test_latte_xl_flops_per_video():
    """Latte-XL/2 on 16×4×32×32 latents: 3.79 TFLOP forward, so 11.4 TFLOP per video trained."""
    cfg = dict(sample_size=32, num_frames=16, in_channels=4, num_classes=101, learn_sigma=True, mlp_ratio=4.0,
               **LATTE_SIZES["XL/2"])
    assert latte_flops(cfg) / 1e12 == pytest.approx(3.786, abs=0.001)


def test_peaks_by_device_name():
    assert peak_tflops("NVIDIA H200", "bf16") == 989.4
    assert peak_tflops("NVIDIA H100 80GB HBM3", "bf16") == 989.4
    assert peak_tflops("NVIDIA H100 PCIe", "bf16") == 756.0
    assert peak_tflops("NVIDIA A100-SXM4-80GB", "no") == 156.0
    assert peak_tflops("cpu", "bf16") is None


def test_attention_kernels_agree_and_refused_ones_fall_back():
    m = tiny_model().eval()
    x, t, y = tiny_batch()
    with torch.no_grad():
        ref = m(x, t, y)
        for name in ("flash", "math"):
            assert attention_backend(name) == name
            with attention_context(name):
                assert torch.allclose(m(x, t, y), ref, atol=1e-5)
            m.set_attention(name)
            assert torch.allclose(m(x, t, y), ref, atol=1e-5)
    for name in ("efficient", "cudnn"):                             # GPU-only kernels
        with pytest.warns(UserWarning, match=f"'{name}' does not run on cpu.*using 'auto'"):
            assert attention_backend(name) == "auto"
    with pytest.raises(ValueError, match="attention must be one of"):
        attention_backend("fast")


@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_checkpointing_keeps_the_gradients(ratio):
    x, t, y = tiny_batch()
    grads = []
    for ckpt in (False, True):
        m = tiny_model()
        if ckpt:
            m.enable_gradient_checkpointing()
            m.checkpoint_ratio = ratio
        m(x, t, y).square().mean().backward()
        grads.append({k: p.grad.clone() for k, p in m.named_parameters()})
    assert all(torch.allclose(grads[0][k], grads[1][k], atol=1e-6) for k in grads[0])


def test_checkpointing_saves_less_for_backward():
    x, t, y = tiny_batch(4)

    def saved_bytes(ratio):
        m = tiny_model()
        if ratio:
            m.enable_gradient_checkpointing()
            m.checkpoint_ratio = ratio
        total = [0]

        def pack(tensor):
            total[0] += tensor.numel() * tensor.element_size()
            return tensor
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            m(x, t, y)
        return total[0]
    none, half, full = saved_bytes(0), saved_bytes(0.5), saved_bytes(1.0)
    assert full < half < none and full < 0.4 * none


def test_compiled_blocks_compute_the_same_and_keep_weight_names():
    m = tiny_model().eval()
    x, t, y = tiny_batch()
    names = list(m.state_dict())
    with torch.no_grad():
        ref = m(x, t, y)
        m.compile_blocks()
        assert torch.allclose(m(x, t, y), ref, atol=1e-4)
    assert list(m.state_dict()) == names


def test_every_switch_on_trains_the_same_model_on_cpu(tmp_path):
    """All switches on, through train_latte, take the steps the defaults take (up to rounding): checkpointed blocks
    recompute with the kernel they ran (else autograd refuses the recomputed values), the weights load as usual."""
    x, y = toy_latents(32)
    base = small_cfg(steps=6, checkpoint_every=1000, learn_sigma=True)
    fast = small_cfg(steps=6, checkpoint_every=1000, learn_sigma=True, compile=True, fused="yes",
                     gradient_checkpointing=True, checkpoint_ratio=0.5, attention="flash", data_on_device="yes")
    a = train_latte(x, y, 3, base, tmp_path / "a", progress=False)
    b = train_latte(x, y, 3, fast, tmp_path / "b", progress=False)
    assert a["losses"] == pytest.approx(b["losses"], rel=1e-4)
    resolved = json.loads((tmp_path / "b" / "train_config.json").read_text())["resolved"]
    assert resolved == {"attention": "flash", "fused": True, "data": "cpu"}
    ma = LatteClassConditional.from_pretrained(tmp_path / "a" / "latte")
    wa, wb = ma.state_dict(), LatteClassConditional.from_pretrained(tmp_path / "b" / "latte").state_dict()
    torch.manual_seed(0)
    w0 = LatteClassConditional.from_config(ma.config).state_dict()                 # where both started
    moved = max(float((wa[k] - w0[k]).abs().max()) for k in wa)
    assert set(wa) == set(wb) and moved > 3e-3                                      # 6 AdamW steps of lr 1e-3
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 0.2 * moved


def test_defaults_leave_cpu_training_as_it_was(tmp_path):
    """The CPU default resolves every switch to what training did before they existed."""
    x, y = toy_latents()
    train_latte(x, y, 3, small_cfg(steps=1), tmp_path, progress=False)
    resolved = json.loads((tmp_path / "train_config.json").read_text())["resolved"]
    assert resolved == {"attention": "auto", "fused": False, "data": "cpu"}
    lat, lab = place_training_data(x, y, "cpu", "yes")
    assert lat is x and lab is y


def test_switch_values_are_checked():
    for field, bad in (("attention", "fast"), ("fused", True), ("data_on_device", "gpu"), ("checkpoint_ratio", 0.0)):
        with pytest.raises(ValueError, match=field):
            LatteTrainConfig(**{field: bad})


def test_measurements_on_cpu():
    tr = measure_training(TINY, LatteTrainConfig(size="tiny"), batch=2, steps=1, warmup=1)
    assert tr["device"] == "cpu" and tr["mfu"] is None and tr["peak_gib"] is None
    assert tr["tflops"] > 0 and tr["videos_per_s"] == pytest.approx(2 / tr["step_s"])
    assert tr["train_tflop_per_video"] == pytest.approx(latte_flops(TINY, train=True) / 1e12)
    sa = measure_sampling(TINY, batch=2, steps=2, precision="no")
    assert sa["finite"] and sa["pool_gpu_hours"] == pytest.approx(101 * 100 * 250 * sa["s_per_step_per_video"] / 3600)


def test_decoding_flops_count_every_convolution_and_the_measurement_runs():
    """The autoencoder's decoder is convolutions (no attention in the small one): the meta-device count equals
    2 × output elements × kernel volume × input channels summed over every Conv2d a real decode runs."""
    from benchmarks.throughput import measure_decoding, vae_decode_flops
    from vddlib.models.autoencoder import build_small_vae

    vae = build_small_vae().eval()
    cfg = {k: v for k, v in dict(vae.config).items() if not k.startswith("_")}
    convs = []
    for m in vae.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(lambda m, i, o: convs.append(
                2 * o.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]))
    with torch.no_grad():
        vae.decode(torch.randn(3, 4, 8, 8))
    assert vae_decode_flops(cfg, 8, frames=3) == sum(convs) > 0
    for channels_last in (False, True):
        r = measure_decoding(cfg, 8, batch_frames=6, reps=1, precision="no", channels_last=channels_last,
                             frames_per_video=3, pool_videos=100)
        assert r["frame_size"] == [32, 32] and r["tflop_per_video"] == pytest.approx(sum(convs) / 1e12)
        assert r["pool_gpu_hours"] == pytest.approx(100 * r["s_per_video"] / 3600) and r["mfu"] is None
        assert r["resize_s_per_video"] == 0
    # the pool resamples decoded frames to the evaluators' size on the host: timed, and in the pool's hours
    r = measure_decoding(cfg, 8, batch_frames=6, reps=1, precision="no", frames_per_video=3, pool_videos=100,
                         resize_to=16)
    assert r["resize_to"] == 16 and r["resize_s_per_video"] > 0
    assert r["pool_gpu_hours"] == pytest.approx(100 * (r["s_per_video"] + r["resize_s_per_video"]) / 3600)


def test_memory_estimate_extrapolates_and_checkpointing_cuts_it():
    from benchmarks.throughput import _saved_bytes, estimate_train_memory

    cfg = {**TINY, "depth": 6, "sample_size": 16}
    rng = torch.get_rng_state()
    none, half, full = (estimate_train_memory(cfg, 4, r) for r in (0.0, 0.5, 1.0))
    assert torch.equal(torch.get_rng_state(), rng)               # counting leaves the caller's random state alone
    direct, _ = _saved_bytes(json.dumps(cfg, sort_keys=True), 6, "bf16", 4)    # the 6-block model on 4 videos, whole
    assert none["activations_gib"] * 2**30 == pytest.approx(direct, rel=0.02)
    assert full["activations_gib"] < half["activations_gib"] < none["activations_gib"]
    # what a step saves whatever its batch is autocast's bf16 copy of each weight whose layer passes a gradient back
    # (all but the timestep MLP's first layer, fed by fixed sin-cos features)
    fixed = 2 * none["activations_gib"] - estimate_train_memory(cfg, 8)["activations_gib"]
    model = LatteClassConditional(**cfg)
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)))
    assert fixed * 2**30 == pytest.approx(2 * (weights - model.time_embedding.linear_1.weight.numel()), rel=1e-3)
    n = sum(p.numel() for p in model.parameters())
    assert none["static_gib"] * 2**30 == pytest.approx(20 * n)


def test_memory_estimate_runs_layer_norm_as_cuda_autocast_does():
    from benchmarks.throughput import _CudaAutocastNorms

    x, norm = torch.randn(3, 8).bfloat16(), torch.nn.LayerNorm(8, elementwise_affine=False)
    with _CudaAutocastNorms():
        assert norm(x).dtype == torch.bfloat16                   # autocast off: as written
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert norm(x).dtype == torch.float32                # CUDA's autocast policy: layer norm in fp32
            assert torch.nn.Linear(8, 8)(x).dtype == torch.bfloat16
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert norm(x).dtype == torch.bfloat16                   # CPU's policy, which the estimate must not use


def _throughput_script():
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "latte_throughput.py"
    spec = importlib.util.spec_from_file_location("_latte_throughput", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_throughput_benchmark_runs_the_goal_rows_first_and_survives_failed_rows(tmp_path, monkeypatch):
    """One short GPU call must come back with the rows that decide the issue's goal, whatever else fails."""
    import csv
    import time as _time

    bench = _throughput_script()

    def fake_train(model, cfg, batch, steps, warmup, device):
        _time.sleep(0.05)
        if cfg.fused == "no":
            raise torch.OutOfMemoryError("CUDA out of memory")
        if cfg.compile and not cfg.gradient_checkpointing:
            raise RuntimeError("a kernel failed\nmore lines")
        return {"device": "cpu", "step_s": 1.0, "videos_per_s": float(batch), "tflops": 1.0, "mfu": None,
                "peak_gib": None, "attention": "auto"}

    def fake_sample(model, batch, **kw):
        return {"device": "cpu", "s_per_step_per_video": 0.01, "tflops": 1.0, "mfu": None, "peak_gib": None,
                "attention": "auto", "pool_gpu_hours": 0.5}

    def fake_decode(vae, latent_size, channels_last, **kw):
        if channels_last:
            raise RuntimeError("no NHWC kernel")
        assert kw["resize_to"] == 16                               # the smoke's stand-in for 112²
        return {"device": "cpu", "s_per_video": 0.1, "tflops": 1.0, "mfu": None, "peak_gib": None,
                "resize_s_per_video": 0.01, "pool_gpu_hours": 0.25}

    monkeypatch.setattr(bench, "measure_training", fake_train)
    monkeypatch.setattr(bench, "measure_sampling", fake_sample)
    monkeypatch.setattr(bench, "measure_decoding", fake_decode)
    bench.main(["--smoke", "--batches", "16", "--out", str(tmp_path / "t")])
    with open(tmp_path / "t.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["part"], r["setting"], r["batch"]) for r in rows[:3]] == [("train", "compile+ckpt", "16"),
                                                                        ("sample", "compile", "32"),
                                                                        ("decode", "eager", "8")]
    assert len(rows) == len(bench.SETTINGS) + 4                  # every setting once, sampling and decoding twice
    assert rows[-1]["setting"] == "channels_last" and rows[-1]["note"].startswith("error: RuntimeError")
    # the pool's hours: the fastest sampling row's plus the fastest decoding row's that ran
    assert "0.50 h sampling + 0.25 h decoding = 0.75 CPU-hours" in (tmp_path / "t.md").read_text()
    assert rows[2]["note"] == "pool 0.25 CPU-h to decode (resizing to 16² on the host: 10.0 ms/video of it)"
    notes = {r["setting"]: r["note"] for r in rows if r["part"] == "train"}
    assert notes["eager"] == "OOM" and notes["compile"] == "error: RuntimeError: a kernel failed"
    assert notes["compile+ckpt"] == notes["fused"] == ""
    # the goal line reads the goal setting's row and the pool's hours (MFU and memory are GPU readings)
    assert ("**Goal** (`compile+ckpt` at batch 16, and the pool; this run measured Latte-tiny on the CPU, not "
            "Latte-XL/2 on a GPU): MFU not measured on this device; peak not measured on this device; pool 0.75 h "
            "(met: ≤ 2 h).") in (tmp_path / "t.md").read_text()

    bench.main(["--smoke", "--batches", "16", "--budget-s", "0.01", "--out", str(tmp_path / "b")])
    with open(tmp_path / "b.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 1                 # the goal row, then the budget is spent
    assert "CPU-hours" not in (tmp_path / "b.md").read_text()     # no pool figure without both of its parts
    assert "pool not measured (no sampling or no decoding row)" in (tmp_path / "b.md").read_text()


def test_throughput_goal_line_says_met_missed_and_why_a_figure_is_missing():
    bench = _throughput_script()
    row = ["NVIDIA H200", "train", "compile+ckpt", 16, 2.0, 8.0, 420.0, 42.5, 41.2, "flash", ""]
    text = bench.goal_text([row], 1.9)
    assert text.startswith("**Goal** (`compile+ckpt` at batch 16, and the pool): ")
    assert "MFU 42.5 % (met: ≥ 40 %)" in text and "peak 41.2 GiB (missed: ≤ 40 GiB)" in text
    assert "pool 1.9 h (met: ≤ 2 h)" in text
    oom = row[:4] + ["-"] * 6 + ["OOM"]
    assert "MFU not measured (OOM); peak not measured (OOM); pool 2.5 h (missed: ≤ 2 h)" in bench.goal_text([oom], 2.5)
    other_batch = row[:3] + [32] + row[4:]
    assert "MFU no row in this run" in bench.goal_text([other_batch], None)


def test_memory_estimate_of_compiled_blocks_is_smaller():
    """A compiled block saves less: the partitioner recomputes norms and element-wise work rather than keep them."""
    from benchmarks.throughput import estimate_train_memory

    cfg = {**TINY, "depth": 4, "sample_size": 16}
    eager, compiled = (estimate_train_memory(cfg, 4, compile=c) for c in (False, True))
    assert compiled["pair_gib_per_video"] < 0.9 * eager["pair_gib_per_video"]
    assert compiled["static_gib"] == eager["static_gib"]
