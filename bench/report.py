"""Tables for the terminal (Rich) and for ``bench/RESULTS.md``, machine facts, acceptance checks."""

from __future__ import annotations

import datetime
import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from timing import Row


@dataclass
class Table:
    """A titled table of strings, rendered both as Markdown and with Rich."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    footer: str = ""

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.headers) + " |"]
        lines.append("|" + "|".join(" --- " for _ in self.headers) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.footer:
            lines += ["", self.footer]
        return "\n".join(lines) + "\n"

    def rich(self):
        from rich.table import Table as RichTable

        table = RichTable(title=self.title, caption=self.footer or None, title_justify="left")
        for index, header in enumerate(self.headers):
            table.add_column(header, justify="left" if index < 3 else "right")
        for row in self.rows:
            table.add_row(*row)
        return table


def number(value: float | None, digits: int = 3) -> str:
    """Three significant digits; '—' for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:,.0f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def timing_table(title: str, rows: list[Row], unit: str, scale: float) -> Table:
    """Median, min, max (in ``unit`` = seconds x ``scale``), ratio to deltanet, accuracy."""
    headers = ["workload", "peer", "dtype", f"median {unit}", f"min {unit}", f"max {unit}",
               "peer / deltanet", "accuracy", "compile s (not timed)", "note"]
    table = Table(title, headers)
    for row in rows:
        table.rows.append([
            row.workload, row.peer, row.dtype,
            number(row.median * scale), number(row.low * scale), number(row.high * scale),
            number(row.ratio), percent(row.accuracy), number(row.compile_seconds), row.note,
        ])
    return table


def scaling_table(sweep) -> Table:
    """Seconds per epoch and cost per unit (per example, per example x weight) with the fit;
    each peer's seconds per epoch and its time over deltanet's at the same point."""
    headers = ["network / examples", "examples", "weights", "batch", "median s/epoch", "min",
               "max", "µs / example", "ns / (example·weight)", "accuracy"]
    for peer in sweep.peers:
        headers += [f"{peer} s/epoch", f"{peer} / deltanet", f"{peer} accuracy"]
    table = Table(sweep.title + (f" ({sweep.threads} thread{'s' if sweep.threads > 1 else ''})"
                                 if sweep.peers else ""), headers)
    for index, (row, n, w, b) in enumerate(zip(sweep.rows, sweep.n_examples, sweep.n_weights,
                                               sweep.batch_sizes, strict=True)):
        cells = [row.workload, f"{n:,}", f"{w:,}", str(b), number(row.median),
                 number(row.low), number(row.high), number(row.median / n * 1e6),
                 number(row.median / (n * w) * 1e9), percent(row.accuracy)]
        for rows in sweep.peers.values():
            peer = rows[index]
            cells += [number(peer.median) if peer.per_unit else (peer.note or "—"),
                      number(peer.ratio), percent(peer.accuracy)]
        table.rows.append(cells)
    if sweep.linear and all(row.per_unit for row in sweep.rows):
        c0, c1, r2 = sweep.fit()
        top = max(row.median for row in sweep.rows)
        table.footer = (f"Straight-line fit t = c0 + c1·{sweep.x_name}: R² = {r2:.4f}, "
                        f"c0 = {c0:.3g} s ({100 * c0 / top:.1f}% of the largest time), "
                        f"c1 = {c1:.3g} s per {sweep.x_name[:-1]}.")
    return table


def compile_table(results: dict[str, dict[str, dict]]) -> Table:
    """First-call seconds in a fresh process: cold Numba cache vs cache found on disk."""
    headers = ["target", "process", "import s", "first call f64 s", "second call f64 s",
               "first call f32 s", "second call f32 s"]
    table = Table("First call: compile time (fresh processes, digits 64-32-10, 64 examples)",
                  headers)
    keys = ["import", "first float64", "second float64", "first float32", "second float32"]
    for target, by_process in results.items():
        for process, times in by_process.items():
            if "error" in times:
                table.rows.append([target, process, times["error"], "", "", "", ""])
                continue
            table.rows.append([target, process, *(number(times.get(k)) for k in keys)])
    table.footer = ("cold = empty NUMBA_CACHE_DIR (compiles); cached = a second process "
                    "reusing that directory. Compile cost ≈ first call − second call.")
    return table


def machine() -> dict[str, str]:
    """CPU model, cores, OS, Python, and the git commit of the tree being measured."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False, cwd=Path(__file__).parent).stdout
    except OSError:
        commit = ""
    return {
        "CPU": cpu,
        "cores": f"{os.cpu_count()} (usable: {len(os.sched_getaffinity(0))})",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "commit": commit.strip() or "unknown",
    }


def versions() -> dict[str, str]:
    """Library versions, including which BLAS NumPy uses."""
    import numba
    import numpy
    import sklearn
    import threadpoolctl

    found = {"numpy": numpy.__version__, "numba": numba.__version__,
             "scikit-learn": sklearn.__version__}
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel code ran
        layer = f"not started ({numba.config.THREADING_LAYER})"
    found["numba threading layer"] = (f"{layer}; OMP_WAIT_POLICY="
                                      f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    try:
        import torch

        found["torch"] = torch.__version__
    except ImportError:
        found["torch"] = "not installed"
    try:
        import peers_jax

        found["jax"] = peers_jax.version()
    except Exception:  # jax missing: its rows say so
        found["jax"] = "not installed"
    try:
        import deltanet

        found["deltanet"] = deltanet.__version__
    except ImportError:
        found["deltanet"] = "not importable"
    blas = [f"{i.get('internal_api')} {i.get('version')}"
            for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    found["BLAS (numpy/scipy)"] = ", ".join(sorted(set(blas))) or "unknown"
    return found


NOTES = """## How to read these numbers

- **Same start, same data.** In (b) and (c), and for the JAX and `torch.compile` rows of
  (a), every peer but scikit-learn starts from deltanet's own starting weights and visits the
  examples in deltanet's order (`peers_deltanet.start` / `orders`), with the same learning
  rate, so all reach the same accuracy up to rounding. The other rows of (a) start from
  `workloads.glorot` with the same seed (the same draws as deltanet's, up to the last bit in
  float64); scikit-learn uses its own start and shuffling.
- **Compile time** (`torch.compile`, JAX) is in its own column and never in a timing: JAX
  compiles with `jit(...).lower(...).compile()`, `torch.compile` runs every batch shape once
  before the timed runs, which reuse the compiled code.
- **Threads.** Each table names its thread count: BLAS (threadpoolctl), Numba and torch are
  set to it in this process; JAX runs in a worker process per count, whose XLA settings
  (`XLA_FLAGS`, CPU affinity) are made there before jax loads. Numba's threading layer
  is Numba's own pick (in the versions table); nothing is set for deltanet.
- **Precision.** In (a) every peer runs in float64 (PyTorch too), except the rows marked
  float32; (b) names its dtype per table; the mini-batch sweeps of (c) are float32
  (scikit-learn keeps float32 input as is).
- **Per-example cost** is loop time / updates. scikit-learn's figure is `fit` time /
  updates, so it includes its per-epoch bookkeeping; PyTorch's is the idiomatic
  `zero_grad / loss / backward / step` loop over one-example batches.
- **deltanet** is called only through `Network.layered(...)` and `train(...)`; whatever
  engine `train` picks by default is what is measured. Every peer gets one untimed warm-up
  call first (compilation, allocator, thread pools); the compile cost of a first call in a
  fresh process is in its own table.
- **GEMM limit** = the matrix products alone for one epoch (3 per layer: `a @ W`, `aᵀ @ Δ`,
  `Δ @ Wᵀ`, float32, same BLAS and threads). Training does not need the input layer's
  `Δ @ Wᵀ`, so the tighter "no input-layer Δ" row can beat the 3-per-layer figure, and so
  can a good training loop. Both rows use `np.matmul`, so NumPy's OpenBLAS kernels.
- **BLAS kernels.** deltanet's compiled loop calls the ?gemm of NumPy's own BLAS, as the
  GEMM rows do; on AMD Zen 4, `OPENBLAS_CORETYPE=Haswell` set before starting Python makes
  OpenBLAS use its AVX2 kernels for every library in the process (the README says when).
- **Fair turns.** After one untimed warm-up each, the peers of a table are timed in turns
  (all peers once, then again, `--reps` rounds), so a passing load on the machine falls on
  every peer alike; the load average at start and end is in the machine table.
- **Scaling** fits a straight line t = c0 + c1·x through the medians; R² near 1 with a small
  c0 means time per epoch grows linearly, with little fixed cost per epoch.
"""


README_START = "<!-- speed table: written by bench/run.py --readme from one run; do not edit -->"
README_END = "<!-- end of speed table -->"


def _cell(row: Row | None, scale: float, with_ratio: bool = True) -> str:
    if row is None:
        return ""
    if not row.per_unit:
        return "failed" if row.note.startswith("failed") else "—"
    shown = number(row.median * scale)
    if with_ratio and row.peer != "deltanet" and not math.isnan(row.ratio):
        shown += f" ({number(row.ratio)}×)"
    return shown


def _pick(rows: list[Row], peer: str, dtype: str | None = None) -> Row | None:
    return next((r for r in rows if r.peer == peer and (dtype is None or r.dtype == dtype)),
                None)


PER_EXAMPLE_PEERS = ["deltanet", "numba loop", "numpy loop", "pytorch eager", "torch.compile",
                     "jax jit + scan", "scikit-learn"]
MINIBATCH_PEERS = ["deltanet", "numpy loop", "pytorch eager", "torch.compile",
                   "jax jit + scan", "scikit-learn"]


def speed_markdown(summary: dict, facts: dict[str, str], command: str, reps: int) -> str:
    """The README's speed tables, from the rows of one run (``summary``: ``per_example``
    {workload: rows}, ``minibatch`` {(dtype, threads): rows}, ``sweeps``)."""
    when = datetime.date.today().isoformat()
    lines = [README_START, "",
             f"Run of {when} on **{facts['CPU']}** (cores: {facts['cores']}), `{command}`, "
             f"medians of {reps}; (×) = the peer's time over deltanet's in the same table, "
             "so above 1 means deltanet is faster. Accuracies and min/max: "
             "[`bench/RESULTS.md`](bench/RESULTS.md).", ""]
    if summary.get("per_example"):
        lines += ["Per-example SGD, µs per update, 1 thread:", "",
                  "| workload | dtype | " + " | ".join(PER_EXAMPLE_PEERS) + " |",
                  "|" + " --- |" * (len(PER_EXAMPLE_PEERS) + 2)]
        for name, rows in summary["per_example"].items():
            for dtype in ("float64", "float32"):
                cells = [_cell(_pick(rows, peer, dtype), 1e6) for peer in PER_EXAMPLE_PEERS]
                if any(cells[1:]):
                    lines.append(f"| {name} | {dtype} | " + " | ".join(cells) + " |")
        lines.append("")
    if summary.get("minibatch"):
        examples = summary.get("minibatch_examples")
        lines += ["Mini-batch SGD, 784-256-128-10 ReLU, batch 128, one epoch"
                  + (f" of {examples:,} examples" if examples else "") + ", s per epoch "
                  "(GEMM share = the products training needs, without the input layer's Δ, "
                  "alone, over deltanet's epoch):", "",
                  "| dtype | threads | " + " | ".join(MINIBATCH_PEERS) + " | GEMM share |",
                  "|" + " --- |" * (len(MINIBATCH_PEERS) + 3)]
        for (dtype, threads), rows in summary["minibatch"].items():
            cells = [_cell(_pick(rows, peer), 1.0) for peer in MINIBATCH_PEERS]
            gemm = _pick(rows, "GEMM, no input-layer Δ")
            share = percent(gemm.ratio) if gemm and gemm.per_unit else "—"
            lines.append(f"| {dtype} | {threads} | " + " | ".join(cells) + f" | {share} |")
        lines.append("")
    for sweep in summary.get("sweeps", []):
        if not sweep.peers:
            continue
        peers = list(sweep.peers)
        lines += [f"Scaling, {sweep.title} ({sweep.threads} thread"
                  f"{'s' if sweep.threads > 1 else ''}), s per epoch:", "",
                  "| point | weights | batch | deltanet | " + " | ".join(peers) + " |",
                  "|" + " --- |" * (len(peers) + 4)]
        for index, row in enumerate(sweep.rows):
            cells = [_cell(sweep.peers[peer][index], 1.0) for peer in peers]
            lines.append(f"| {row.workload} | {sweep.n_weights[index]:,} | "
                         f"{sweep.batch_sizes[index]} | {_cell(row, 1.0)} | "
                         + " | ".join(cells) + " |")
        lines.append("")
    lines.append(README_END)
    return "\n".join(lines)


def replace_between_markers(text: str, block: str) -> str:
    """``text`` with the part from ``README_START`` to ``README_END`` replaced by ``block``."""
    start, end = text.find(README_START.split(":")[0] + ":"), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no speed-table markers ({README_START!r} ... "
                         f"{README_END!r}): put them where the table goes")
    return text[:start] + block + text[end + len(README_END):]
