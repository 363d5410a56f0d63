"""Run by `accelerate launch --multi_gpu --num_processes 2` on CPU (gloo) in test_selection_stage: evaluate a
small grid of selections split between the processes; rank 0 writes the rows."""
import sys
from pathlib import Path

from vddlib.diffusion import close_accelerator, make_accelerator
from vddlib.evaluate import evaluate_selections

sys.path.insert(0, str(Path(__file__).parent))
from test_selection_stage import grid_inputs  # noqa: E402

out = Path(sys.argv[1])
pool, test, cfg, manifests = grid_inputs()
acc = make_accelerator()
rows = evaluate_selections(pool, test, cfg, manifests, dataset="toy", pool_name="synthetic",
                           results_csv=out / "rows.csv", accelerator=acc, progress=False)
print(f"rank {acc.process_index} of {acc.num_processes} done with {len(rows)} rows", flush=True)
close_accelerator(acc)
