"""Run a test worker script on two CPU processes with `accelerate launch` (torchrun underneath, gloo)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def launch_two_processes(script: str, *args: str, port: int) -> subprocess.CompletedProcess:
    """`accelerate launch --multi_gpu --num_processes 2 tests/<script> args...`; one torch thread each.

    accelerate's --cpu flag means one process; --multi_gpu runs torchrun, and our Accelerator(cpu=True) takes gloo.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port),
           str(REPO / "tests" / script), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
