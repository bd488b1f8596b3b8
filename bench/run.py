"""Benchmark deltanet against PyTorch (eager and torch.compile), JAX, scikit-learn, NumPy and
Numba loops in one run.

    .venv/bin/python bench/run.py                 # full run (several minutes on 2 cores)
    .venv/bin/python bench/run.py --quick         # smoke run
    .venv/bin/python bench/run.py --only a,b,c --reps 3 --threads 1,2

Sections: (a) per-example SGD (XOR 2-2-1, digits 64-32-10) with the first-call compile
cost, (b) mini-batch 784-256-128-10 ReLU at batch 128 with the GEMM limit: float32 at each
thread count of ``--threads``, float64 at the first, (c) how time per epoch grows with
examples, width and batch size, against PyTorch and JAX. Prints the tables and rewrites
``bench/RESULTS.md`` (or ``--results PATH``).

Threads: the largest count of ``--threads`` goes into the thread variables of this process
before NumPy, Numba or torch load; each table then runs under ``threadpool_limits(n)``,
``numba.set_num_threads(n)`` and ``torch.set_num_threads(n)``; JAX runs in worker processes
whose XLA settings are made there (``peers_jax``). (a) and (c) run at the first count.
"""

from __future__ import annotations

import argparse
import contextlib
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
    parser.add_argument("--quick", action="store_true",
                        help="fewer epochs, repetitions and examples (15,000 in (b) and (c))")
    parser.add_argument("--reps", type=int, default=None,
                        help="timed repetitions per peer (default 5, or 2 with --quick)")
    parser.add_argument("--only", default="a,b,c", help="sections to run, e.g. 'a,b'")
    parser.add_argument("--threads", default="1,2",
                        help="thread counts (BLAS, Numba, torch, JAX), e.g. '1,2': (b) runs "
                             "float32 at each; (a), (c) and (b)'s float64 at the first")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md",
                        help="Markdown file to rewrite with the tables")
    parser.add_argument("--readme", type=Path, nargs="?", const=HERE.parent / "README.md",
                        default=None,
                        help="also rewrite the speed table of README.md (or of PATH), "
                             "between its markers, from this run")
    args = parser.parse_args(argv)
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    if not args.only or not args.only <= {"a", "b", "c"}:
        parser.error(f"--only takes a comma-separated subset of a,b,c (got {args.only})")
    if args.reps is None:
        args.reps = 2 if args.quick else 5
    try:
        args.threads = [int(part) for part in args.threads.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--threads takes comma-separated whole numbers (got {args.threads!r})")
    if args.reps < 1 or not args.threads or min(args.threads) < 1:
        parser.error("--reps and every --threads count must be at least 1")
    return args


def limit_threads(threads: int) -> None:
    """Thread counts must be in the environment before NumPy, Numba or torch load (the
    peers' thread counts; deltanet itself runs with whatever the user's process has)."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


@contextlib.contextmanager
def threads(n: int):
    """BLAS (threadpoolctl), Numba and torch limited to ``n`` threads inside the block."""
    import numba
    from threadpoolctl import threadpool_limits

    numba_before = numba.get_num_threads()
    torch_set = None
    try:
        import peers_torch

        torch_before, torch_set = peers_torch.get_threads(), peers_torch.set_threads
    except ImportError:
        pass
    with threadpool_limits(n):
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        if torch_set is not None:
            torch_set(n)
        try:
            yield
        finally:
            numba.set_num_threads(numba_before)
            if torch_set is not None:
                torch_set(torch_before)


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
        args.summary.setdefault("per_example", {})[workload.name] = rows
        tables.append(report.timing_table(
            f"(a) per-example SGD, {workload.name} ({workload.epochs:,} epochs), "
            f"lr {workload.lr}", rows, "µs/update", 1e6))
        if workload.data.name == "digits":
            checks.per_example(verdicts, rows)
        checks.per_example_peers(verdicts, workload.data.name, workload.name, rows)
    import fixed_cost

    results = fixed_cost.measure_all()
    tables.append(fixed_cost.table(results))
    checks.fixed_cost(verdicts, results, fixed_cost.TARGET_US)
    print("(a) first-call compile time (fresh processes)", file=sys.stderr)
    probes = {target: compile_probe.probe(target) for target in ("deltanet", "numba")}
    return [*tables, report.compile_table(probes)]


def run_minibatch(args: argparse.Namespace, verdicts, data) -> list:
    """Section (b): float32 at every thread count, then float64 at the first."""
    import numpy as np

    import checks
    import report
    import suite_minibatch

    tables = []
    runs = [(np.float32, n) for n in args.threads] + [(np.float64, args.threads[0])]
    for dtype, n in runs:
        name = np.dtype(dtype).name
        print(f"(b) mini-batch SGD, {name}, {n} thread(s)", file=sys.stderr)
        workload = suite_minibatch.workload(dtype=dtype, threads=n, data=data)
        with threads(n):
            rows = suite_minibatch.run(workload, args.reps)
        args.summary.setdefault("minibatch", {})[(name, n)] = rows
        args.summary["minibatch_examples"] = data.X.shape[0]
        tables.append(report.timing_table(
            f"(b) mini-batch SGD, 784-256-128-10 ReLU, batch 128, {name}, {n} thread"
            f"{'s' if n > 1 else ''}, {data.X.shape[0]:,} examples, 1 epoch, lr {workload.lr}",
            rows, "s/epoch", 1.0))
        checks.minibatch(verdicts, rows, name, n)
    return tables


def run_sections(args: argparse.Namespace) -> list:
    """Run the selected sections; returns the report tables in order."""
    import checks
    import report
    import suite_scaling
    import workloads

    tables, verdicts = [], checks.table()
    if "a" in args.only:
        with threads(args.threads[0]):
            tables += run_per_example(args, verdicts)
    n = 15_000 if args.quick else 60_000
    data = workloads.teacher(n=n) if args.only & {"b", "c"} else None
    if "b" in args.only:
        tables += run_minibatch(args, verdicts, data)
    if "c" in args.only:
        print("(c) scaling", file=sys.stderr)
        with threads(args.threads[0]):
            sweeps = suite_scaling.run(data, workloads.digits(), args.reps, args.threads[0])
        args.summary["sweeps"] = sweeps
        tables += [report.scaling_table(sweep) for sweep in sweeps]
        checks.scaling(verdicts, sweeps)
    return [verdicts, *tables]


def write_results(path: Path, tables: list, args: argparse.Namespace, command: str) -> None:
    import report

    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = ["# deltanet benchmark results", "",
             f"Written by `bench/run.py` on {when}.", "",
             f"Command: `{command}`  ",
             f"Threads: {', '.join(map(str, args.threads))} (BLAS, Numba, torch, JAX; each "
             f"table names its count); repetitions: {args.reps}"
             f"{' (quick mode)' if args.quick else ''}.", "",
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
    if args.readme is not None:
        text = args.readme.read_text(encoding="utf-8") if args.readme.is_file() else ""
        if "<!-- speed table:" not in text or "<!-- end of speed table -->" not in text:
            print(f"error: {args.readme} has no speed-table markers: put "
                  "'<!-- speed table: ... -->' and '<!-- end of speed table -->' where the "
                  "table goes", file=sys.stderr)
            return 2
    limit_threads(max(args.threads))
    sys.path.insert(0, str(HERE))
    try:
        import peers_torch  # noqa: F401
    except ImportError:
        print("torch is not installed: the PyTorch rows will say so "
              "(pip install -r bench/requirements.txt)", file=sys.stderr)
    python = Path(sys.executable)
    if python.is_relative_to(HERE.parent):
        python = python.relative_to(HERE.parent)
    command = shlex.join([str(python), "bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    load_at_start = os.getloadavg()
    args.summary = {}
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
    if args.readme is not None:
        import report

        block = report.speed_markdown(args.summary, report.machine(), command, args.reps)
        text = args.readme.read_text(encoding="utf-8")
        args.readme.write_text(report.replace_between_markers(text, block), encoding="utf-8")
        console.print(f"rewrote the speed table of {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
