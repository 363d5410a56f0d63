"""The `vddlib` command: each stage of a profile outside the notebooks, and the whole run.

    vddlib finetune --profile tiny_real          # 01: the autoencoder and Latte (or the shipped pair)
    vddlib generate --profile tiny_real          # 02: the synthetic pool
    vddlib select   --profile tiny_real --methods random tac_dt --vpcs 1 2 --runs 2   # 03: selection manifests
    vddlib evaluate --profile tiny_real --methods random tac_dt --vpcs 1 2 --runs 2   # 04: evaluators, a table
    vddlib run      --profile tiny_real          # every notebook, as ./run_all.sh
    vddlib tiny     artifacts/tiny_real          # write the tiny real-format datasets the tiny_real profile reads

`python -m vddlib` is the same command. Each stage reads and writes what its notebook does: the profile's
work folders under artifacts/ and its results folder (`results/` for the default profile, `runs/<name>/results/`
for any other), so the command line and the notebooks share their caches and outputs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

EXAMPLES = {
    "finetune": "vddlib finetune --profile tiny_real\n  (after `vddlib tiny`; the default profile copies the "
                "shipped pair and runs a short real training)",
    "generate": "vddlib generate --profile tiny_real",
    "select": "vddlib select --profile tiny_real --methods random tac_dt --vpcs 1 2 --runs 2",
    "evaluate": "vddlib evaluate --profile tiny_real --methods random tac_dt --vpcs 1 2 --runs 2",
    "run": "vddlib run --profile tiny_real\n  (the default profile: `vddlib run`, about 20 minutes on 2 cores)",
    "tiny": "vddlib tiny artifacts/tiny_real",
}


def _start(a, writes: bool = True):
    """The profile, its results folder (checked writable before any work when the stage `writes`), and the
    verbosity switch on (a terminal shows progress). Paths typed on the command line are read from the current
    folder; the profile's own paths from the repository root, as the notebooks read them."""
    import vddlib
    from vddlib.config import REPO_ROOT
    from vddlib.checksums import set_strict
    from vddlib.files import ensure_writable
    from vddlib.profile import load_profile, run_context

    vddlib.set_verbose(not a.quiet)
    if Path(a.profile).suffix or os.sep in a.profile:    # a path, not a name in params/
        a.profile = str(Path(a.profile).absolute())
    if a.results_dir:
        a.results_dir = str(Path(a.results_dir).absolute())
    os.chdir(REPO_ROOT)                       # profiles name repository-relative paths, as the notebooks do
    prof = load_profile(a.profile)
    set_strict(prof.strict)
    prof.set_output_dirs(a.results_dir)
    if writes:
        ensure_writable(prof.results_dir, "the results folder (--results-dir, or the profile's outputs)")
    prof.check_inputs()
    grid = {k: getattr(a, k, None) for k in ("runs", "vpcs", "methods", "processes")}
    return prof, run_context(prof, **grid)


def cmd_finetune(a) -> None:
    from vddlib.data.datasets import load_dataset, load_summary
    from vddlib.diffusion.stage import finetune

    prof, run = _start(a)
    splits = load_dataset(prof.dataset)
    print(load_summary(splits))
    report = finetune(prof.diffusion, prof.dataset, splits, run.diffusion, retrain=a.retrain)
    print(f"latte: {report['latte']}; autoencoder test PSNR {report['vae_test_psnr']:.2f} dB; "
          f"weights in {run.diffusion}")


def cmd_generate(a) -> None:
    from vddlib.data.datasets import load_dataset
    from vddlib.data.pool import load_pool
    from vddlib.diffusion.stage import generate

    prof, run = _start(a)
    train = load_dataset(prof.dataset)["train"]
    t0 = time.perf_counter()
    path = generate(prof.generate, run.diffusion, run.pool, train.class_names).parent       # generate.device; generate.processes > 1: accelerate launch
    pool = load_pool(path)
    print(f"pool {path}: {len(pool)} videos, {pool.num_classes} classes ({time.perf_counter() - t0:.0f} s)")


def cmd_select(a) -> None:
    from vddlib.data.datasets import load_dataset
    from vddlib.selection import stage
    from vddlib.selection.registry import get

    prof, run = _start(a)
    splits = load_dataset(prof.dataset)
    path = run.pool
    teacher = None              # the teacher-guided selectors read the Full-real recogniser's view (01 made it)
    if prof.selection.teacher == "recogniser" and any("teacher" in get(m).needs for m in run.methods):
        from vddlib.evaluation import fidelity

        teacher = fidelity.teacher_of(fidelity.recogniser(splits["train"], prof.evaluation.train,
                                                          run.diffusion / "recogniser.safetensors"))
    pool, inputs, _ = stage.selection_inputs(prof.selection, run.dataset, splits["train"], path, test=splits["test"],
                                             recogniser=teacher)
    mans = stage.make_selections(prof.selection, run.dataset, pool, inputs, run.vpcs, run.seeds, path.name,
                                 methods=run.methods)
    print(f"{len(mans)} selections ({sum(m['reused'] for m in mans)} re-used) in "
          f"{Path(prof.selection.manifests) / run.dataset / path.name}")


def cmd_evaluate(a) -> None:
    from vddlib.data.datasets import load_dataset
    from vddlib.data.pool import load_pool
    from vddlib.data.selections import load_manifests
    from vddlib.evaluation.jobs import EvalJobs, queue_full, queue_manifests
    from vddlib.evaluation.results import upsert_runs, write_summary_table

    prof, run = _start(a)
    methods, vpcs, seeds = run.methods, run.vpcs, run.seeds
    cfg, dataset = prof.evaluation.train, run.dataset
    splits = load_dataset(prof.dataset)
    path = run.pool
    pool = load_pool(path)
    q = EvalJobs(splits["test"], dataset)
    if a.full:
        queue_full(q, splits["train"], cfg, seeds, "real")
        queue_full(q, pool, cfg, seeds, "synthetic")
    manifests = load_manifests(prof.selection.manifests, dataset, path.name, methods, vpcs, seeds,
                               labels=pool.labels.tolist())
    queue_manifests(q, pool, manifests, cfg, "synthetic")
    results = Path(prof.results_dir) / "eval_runs.csv"
    rows = q.run(run.processes, Path(prof.selection.work_dir) / dataset / "jobs", profile=a.profile,
                 device=run.device)
    upsert_runs(results, rows)
    stem = Path(prof.results_dir) / f"cli_{dataset}_{cfg.classifier}"
    print(write_summary_table(rows, stem))
    print(f"{len(rows)} evaluator runs added to {results}; table {stem}.md")


def cmd_run(a) -> None:
    import papermill as pm

    prof, _ = _start(a)
    out = prof.notebooks_dir
    out.mkdir(parents=True, exist_ok=True)
    for nb in sorted(Path("notebooks").glob("[0-9][0-9]_*.ipynb")):
        t0 = time.perf_counter()
        print(f"== {nb.name} (profile {a.profile}) → {out / nb.name}", flush=True)
        # in place (the default profile) with no parameters: papermill then adds no injected cell, and the committed
        # notebook's parameters cell stays the one that ran
        params = {} if out.resolve() == nb.parent.resolve() and a.profile == "default" else {"profile": a.profile}
        if a.results_dir:
            params["results_dir"] = a.results_dir
        pm.execute_notebook(str(nb), str(out / nb.name), parameters=params, cwd=".", kernel_name="python3",
                            progress_bar=False)
        print(f"   {time.perf_counter() - t0:.0f} s", flush=True)


def cmd_tiny(a) -> None:
    from vddlib.data.tiny import LAYOUTS, write_tiny

    for layout in LAYOUTS:
        info = write_tiny(Path(a.folder) / layout, layout)
        print(f"{layout}: {info['root']} (cut short: {info['cut'].name}; shorter than a clip: {info['short'].name})")


def _positive(text: str) -> int:
    """An argument that counts something: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1; got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="vddlib", description=__doc__.split("\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--debug", action="store_true", help="show the full traceback of an error (or VDDLIB_DEBUG=1)")
    sub = ap.add_subparsers(dest="command", required=True)

    def add(name: str, fn, help_: str, stage: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, epilog=f"example:\n  {EXAMPLES[name]}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(fn=fn)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error (or set VDDLIB_DEBUG=1)")
        if stage:
            p.add_argument("--profile", default="default", help="params/<name>.yaml or a path (default: default)")
            p.add_argument("--results-dir", dest="results_dir", default=None,
                           help="tables and manifests go here (default: the profile's outputs)")
            p.add_argument("--quiet", action="store_true", help="no progress bars or log lines")
        return p

    p = add("finetune", cmd_finetune, "Fine-tune (or take the shipped) autoencoder and Latte: notebook 01's stage.")
    p.add_argument("--retrain", action="store_true", default=None, help="train here even if a shipped pair exists")
    add("generate", cmd_generate, "Generate the profile's synthetic pool (resumable): notebook 02's stage.")
    for name, fn, help_ in (("select", cmd_select, "Select VPC videos per class with each method: notebook 03's "
                                                     "stage (saved manifests are re-used)."),
                            ("evaluate", cmd_evaluate, "Train an evaluator on each saved selection and test it on "
                                                         "the real test split: notebook 04's stage.")):
        p = add(name, fn, help_)
        p.add_argument("--methods", nargs="+", default=None, help="registry names (default: the profile's)")
        p.add_argument("--vpcs", nargs="+", type=_positive, default=None, help="videos per class (default: the profile's)")
        p.add_argument("--runs", type=_positive, default=None, help="seeds per setting (default: evaluation.runs)")
        if name == "evaluate":
            p.add_argument("--full", action="store_true", help="also Full real and Full syn")
            p.add_argument("--processes", type=_positive, default=None, help="default: evaluation.processes")
    add("run", cmd_run, "Execute every numbered notebook for the profile (what ./run_all.sh does).")
    p = add("tiny", cmd_tiny, "Write a 3-class dataset in each real dataset's own layout (for params/tiny_real.yaml).",
            stage=False)
    p.add_argument("folder", nargs="?", default="artifacts/tiny_real")
    return ap


def main(argv: list[str] | None = None) -> None:
    """Run a subcommand. An error prints one line naming the problem and the fix (exit status 1); `--debug` or
    VDDLIB_DEBUG=1 raises it with its traceback instead."""
    a = build_parser().parse_args(argv)
    if getattr(a, "debug", False) or os.environ.get("VDDLIB_DEBUG", "") not in ("", "0"):
        a.fn(a)
        return
    try:
        a.fn(a)
    except Exception as e:                    # KeyboardInterrupt and SystemExit pass as they are
        message = str(e).strip() or type(e).__name__
        if isinstance(e, (KeyError, IndexError, AttributeError, NameError)) or not str(e).strip():
            message = f"{type(e).__name__}: {message}"     # a bare key or index says nothing without its kind
        print(f"vddlib {a.command}: error: {message}\n(vddlib --debug {a.command} … or VDDLIB_DEBUG=1 shows the "
              "traceback)", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main(sys.argv[1:])
