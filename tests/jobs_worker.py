"""Run by `accelerate launch --multi_gpu --num_processes 2` on CPU (gloo) in test_jobs: evaluate a queue folder
written by the test, each process its share (vddlib.evaluation.jobs.run_queue, as the evaluate_jobs CLI does)."""
import sys
from pathlib import Path

from vddlib.diffusion.train import close_accelerator, make_accelerator
from vddlib.evaluation.jobs import read_done, run_queue

sys.path.insert(0, str(Path(__file__).parent.parent))
from tests.fixtures import grid_inputs  # noqa: E402

folder = Path(sys.argv[1])
_, test, _, _ = grid_inputs()
acc = make_accelerator()
run_queue(folder, test, accelerator=acc, progress=False)
print(f"rank {acc.process_index} of {acc.num_processes}: {len(read_done(folder))} rows logged", flush=True)
close_accelerator(acc)
