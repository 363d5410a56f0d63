"""Run by `accelerate launch --multi_gpu --num_processes 2` on CPU (gloo) in test_diffusion_training: train (with the
throughput switches a CPU has), then each rank dumps its weights."""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from vddlib.diffusion.train import LatteTrainConfig, close_accelerator, make_accelerator, train_latte

out = Path(sys.argv[1])
g = torch.Generator().manual_seed(0)
latents = torch.randn(16, 4, 4, 8, 8, generator=g)
labels = torch.arange(16) % 3
acc = make_accelerator()
# the paper profile's throughput switches, as they run under DDP on CPU too: compiled blocks (regional compilation
# inside DDP's wrapper), partial checkpointing, fused updates, a named attention kernel
cfg = LatteTrainConfig(size="tiny", steps=3, batch_size=8, checkpoint_every=100, learn_sigma=True, lr=1e-3,
                       fused="yes", gradient_checkpointing=True, checkpoint_ratio=0.5, attention="math", compile=True)
train_latte(latents, labels, 3, cfg, out / "run", accelerator=acc, progress=False)
model = acc._models[0]
sd = {k: v.detach().cpu().contiguous() for k, v in acc.unwrap_model(model).state_dict().items()}
save_file(sd, str(out / f"rank{acc.process_index}.safetensors"))
print(f"rank {acc.process_index} of {acc.num_processes} done", flush=True)
close_accelerator(acc)
