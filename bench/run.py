"""Benchmark deltanet against PyTorch eager, scikit-learn, NumPy and Numba loops in one run.

    .venv/bin/python bench/run.py                 # full run (a few minutes on 2 cores)
    .venv/bin/python bench/run.py --quick         # smoke run (under about 2 minutes)
    .venv/bin/python bench/run.py --only b --reps 3 --threads 1

Sections: (a) per-example SGD (XOR 2-2-1, digits 64-32-10) with the first-call compile
cost, (b) mini-batch 784-256-128-10 ReLU at batch 128 in float32 with the GEMM limit,
(c) how time per epoch grows with examples and with width. Prints the tables and rewrites
``bench/RESULTS.md`` (or ``--results PATH``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repetitions")
    parser.add_argument("--reps", type=int, default=None,
                        help="timed repetitions per peer (default 5, or 2 with --quick)")
    parser.add_argument("--only", default="a,b,c", help="sections to run, e.g. 'a,b'")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/torch/Numba threads")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md",
                        help="Markdown file to rewrite with the tables")
    args = parser.parse_args(argv)
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    if not args.only or not args.only <= {"a", "b", "c"}:
        parser.error(f"--only takes a comma-separated subset of a,b,c (got {args.only})")
    if args.reps is None:
        args.reps = 2 if args.quick else 5
    if args.reps < 1 or args.threads < 1:
        parser.error("--reps and --threads must be at least 1")
    return args


def limit_threads(threads: int) -> None:
    """Thread counts must be in the environment before NumPy, Numba or torch load."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def run_per_example(args: argparse.Namespace, verdicts) -> list:
    """Section (a): the per-example tables, then first-call compile times."""
    import checks
    import compile_probe
    import report
    import suite_per_example

    tables = []
    print("(a) per-example SGD", file=sys.stderr)
    for workload in suite_per_example.workloads_for(args.quick):
        rows = suite_per_example.run(workload, args.reps)
        tables.append(report.timing_table(
            f"(a) per-example SGD, {workload.data.name} "
            f"{'-'.join(map(str, workload.sizes))}, {workload.epochs} epochs, "
            f"lr {workload.lr}", rows, "µs/update", 1e6))
        if workload.data.name == "digits":
            checks.per_example(verdicts, rows)
    import fixed_cost

    tables.append(fixed_cost.run())
    print("(a) first-call compile time (fresh processes)", file=sys.stderr)
    probes = {target: compile_probe.probe(target) for target in ("deltanet", "numba")}
    return [*tables, report.compile_table(probes)]


def run_sections(args: argparse.Namespace) -> list:
    """Run the selected sections; returns the report tables in order."""
    import checks
    import report
    import suite_minibatch
    import suite_scaling
    import workloads

    tables, verdicts = [], checks.table()
    if "a" in args.only:
        tables += run_per_example(args, verdicts)
    minibatch = None
    if args.only & {"b", "c"}:
        minibatch = suite_minibatch.workload()
    if "b" in args.only:
        print("(b) mini-batch SGD", file=sys.stderr)
        rows = suite_minibatch.run(minibatch, args.reps)
        tables.append(report.timing_table(
            f"(b) mini-batch SGD, 784-256-128-10 ReLU, batch 128, float32, "
            f"{minibatch.data.X.shape[0]:,} examples, 1 epoch, lr {minibatch.lr}",
            rows, "s/epoch", 1.0))
        checks.minibatch(verdicts, rows)
    if "c" in args.only:
        print("(c) scaling", file=sys.stderr)
        sweeps = suite_scaling.run(minibatch.data, workloads.digits(), args.reps)
        tables += [report.scaling_table(sweep) for sweep in sweeps]
        checks.scaling(verdicts, sweeps)
    return [verdicts, *tables]


def write_results(path: Path, tables: list, args: argparse.Namespace, command: str) -> None:
    import report

    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = ["# deltanet benchmark results", "",
             f"Written by `bench/run.py` on {when}.", "",
             f"Command: `{command}`  ", f"Threads: {args.threads} (BLAS, torch, Numba); "
             f"repetitions: {args.reps}{' (quick mode)' if args.quick else ''}.", "",
             "## Machine", "", "| | |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in report.machine().items()]
    lines += [f"| load average (1/5/15 min) at {moment} | "
              f"{' / '.join(f'{x:.2f}' for x in load)} |"
              for moment, load in zip(("start", "end"), args.load, strict=True)]
    lines += ["", "## Versions", "", "| library | version |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in report.versions().items()]
    lines += ["", "## Tables", "",
              "Times are medians over the repetitions, with min and max. "
              "`peer / deltanet` is the peer's median time over deltanet's (same dtype), "
              "so above 1 means deltanet is faster. Accuracy is on held-out examples "
              "(XOR: its four points) after the training that was timed.", ""]
    lines += [table.markdown() for table in tables]
    lines += [report.NOTES]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    limit_threads(args.threads)
    sys.path.insert(0, str(HERE))
    from threadpoolctl import threadpool_limits

    try:
        import peers_torch

        peers_torch.set_threads(args.threads)
    except ImportError:
        print("torch is not installed: the PyTorch rows will say so "
              "(pip install -r bench/requirements.txt)", file=sys.stderr)
    python = Path(sys.executable)
    if python.is_relative_to(HERE.parent):
        python = python.relative_to(HERE.parent)
    command = shlex.join([str(python), "bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    load_at_start = os.getloadavg()
    with threadpool_limits(args.threads):
        tables = run_sections(args)
    args.load = (load_at_start, os.getloadavg())
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    for table in tables:
        console.print(table.rich())
    write_results(args.results, tables, args, command)
    console.print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
