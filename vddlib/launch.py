"""Starting one of vddlib's command-line modules on several processes: `accelerate launch`, the one launcher.

One process per GPU where there are GPUs (NCCL); gloo processes on a CPU-only machine, as the tests run them.
"""
from __future__ import annotations

import subprocess
import sys


def accelerate_launch(module: str, args: list[str], processes: int, port: int | None = None) -> None:
    """Run `python -m <module> <args>` on `processes` processes with `accelerate launch --multi_gpu` (torchrun
    underneath); an error if any process fails. `port`: torch.distributed's rendezvous port (default 29500)."""
    # every launch setting stated, so accelerate prints no "values were not passed" notice
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           *(["--main_process_port", str(port)] if port else []), "-m", module, *args]
    subprocess.run(cmd, check=True)
