// The backward view: pick a point (click it, or choose its number), see Δ_j on every
// neuron and Δ_j a_i on the arcs, and read the derivation: of one neuron at a time (click
// or press Enter on a neuron), or of the whole step, one line per click ("Step through"),
// with the neurons and arcs each line uses lit in the diagram.
import { fmt, LOSS_NAMES } from "./format.js";
import { neuronLines, stepLines } from "./derivation.js";
import { mathToHtml } from "./math.js";
import { Quiz } from "./quiz-panel.js";

const $ = (id) => document.getElementById(id);

function row(tag, texts, attrs = {}) {
  const tr = document.createElement("tr");
  for (const t of texts) {
    const cell = document.createElement(tag);
    cell.textContent = t;
    tr.append(cell);
  }
  for (const [k, v] of Object.entries(attrs)) tr.setAttribute(k, v);
  return tr;
}

export class BackwardView {
  constructor(api, network, onError) {
    this.api = api;
    this.network = network;
    this.onError = onError;
    this.panel = $("backward-panel");
    this.button = $("backward-toggle");
    this.open = false;
    this.point = null;     // [x1, x2, label]
    this.points = [];      // the points one can pick, in the order of their numbers
    this.result = null;
    this.neuron = null;    // the neuron whose derivation is shown
    this.stepping = false; // step-through mode
    this.line = 0;         // lines shown in step-through mode
    this.busy = false;
    this.pending = false;
    this.quiz = new Quiz(this);
    $("point-index").addEventListener("change", (e) => this.choose(Number(e.target.value) - 1));
    $("point-prev").addEventListener("click", () => this.choose(this.index() - 1));
    $("point-next").addEventListener("click", () => this.choose(this.index() + 1));
    $("step-through").addEventListener("click", () => this.toggleStepping());
    $("line-next").addEventListener("click", () => this.moveLine(+1));
    $("line-prev").addEventListener("click", () => this.moveLine(-1));
  }

  toggle(state, points, showTest) {
    this.setOpen(!this.open, state, points, showTest);
  }

  setOpen(open, state, points, showTest) {
    this.open = open;
    this.panel.hidden = !open;
    this.button.classList.toggle("active", open);
    this.button.setAttribute("aria-pressed", String(open));
    document.body.classList.toggle("backward-open", open);
    if (!open) {
      this.result = null;
      this.network.showBackward(state, null);
      this.network.highlight(null);
      return;
    }
    this.setPoints(points, showTest);
    if (!this.point && this.points.length) this.point = this.points[0];
    this.refresh(state);
  }

  // The points one can pick: the training points, and the test points when shown.
  setPoints(points, showTest) {
    if (!points) return;
    this.points = showTest ? [...points.train, ...points.test] : points.train;
    $("point-index").max = String(this.points.length);
    $("point-count").textContent = String(this.points.length);
    if (this.point && !this.points.some((p) => p === this.point)) {
      this.point = this.nearest(this.point[0], this.point[1]);
    }
  }

  index() {
    return Math.max(this.points.indexOf(this.point), 0);
  }

  choose(k) {
    if (!this.points.length) return;
    this.point = this.points[Math.min(Math.max(k, 0), this.points.length - 1)];
    this.refresh(this.latest);
    if (this.onPick) this.onPick();
  }

  nearest(x1, x2) {
    let best = null, dist = Infinity;
    for (const p of this.points) {
      const d = (p[0] - x1) ** 2 + (p[1] - x2) ** 2;
      if (d < dist) { dist = d; best = p; }
    }
    return best;
  }

  // Choose the data point nearest to (x1, x2) among those shown.
  pick(state, x1, x2) {
    this.point = this.nearest(x1, x2);
    this.refresh(state);
  }

  selectNeuron(j) {
    this.neuron = j;
    this.stepping = false;
    this.showDerivation();
    this.quiz.retarget();
  }

  // Ask the server for the trace of the chosen point (one request at a time).
  async refresh(state) {
    if (state) this.latest = state;
    if (!this.open || !this.point) return;
    if (this.busy) { this.pending = true; return; }
    this.busy = true;
    try {
      const [x1, x2, y] = this.point;
      this.result = await this.api.backward([x1, x2], y);
      this.show(this.latest);
    } catch (err) {
      this.onError(err);
    } finally {
      this.busy = false;
      if (this.pending) {
        this.pending = false;
        this.refresh(this.latest);
      }
    }
  }

  // Re-apply the last result after the network was redrawn.
  redraw(state) {
    this.latest = state;
    if (this.open && this.result) {
      this.network.showBackward(state, this.result, this.quiz.active);
      this.light();
    }
  }

  show(state) {
    const r = this.result;
    if (this.neuron === null || !r.neurons[String(this.neuron)]) this.neuron = r.output_ids[0];
    this.network.showBackward(state, r, this.quiz.active);
    const [x1, x2] = r.x;
    const point = $("backward-point");
    Object.assign(point.dataset, { x1: String(x1), x2: String(x2), y: String(r.y) });
    point.textContent = `x = (${fmt(x1)}, ${fmt(x2)}), y = ${r.y}; ` +
      `outputs ${r.outputs.map((v) => fmt(v)).join(", ")}; ` +
      `${LOSS_NAMES[r.loss_name]} J = ${fmt(r.loss)}`;
    $("point-index").value = String(this.index() + 1);
    this.tables(r);
    this.showDerivation();
    this.quiz.retarget();
  }

  tables(r) {
    const deltas = $("delta-table");
    deltas.replaceChildren(row("th", ["j", "in_j", "a_j", "Δ_j"]));
    for (const [j, n] of Object.entries(r.neurons)) {
      if (n.delta === undefined) continue;
      deltas.append(row("td", [j, fmt(n.in), fmt(n.a), fmt(n.delta)],
        { "data-testid": `delta-row-${j}`, "data-value": String(n.delta) }));
    }
    const grads = $("grad-table");
    grads.replaceChildren(row("th", ["arc", "w_ij", "a_i", "Δ_j", "Δ_j a_i"]));
    for (const e of r.edges) {
      grads.append(row("td", [`(${e.i}, ${e.j})`, fmt(e.w), fmt(e.a_i), fmt(e.delta_j),
        fmt(e.grad)], { "data-testid": `grad-row-${e.i}-${e.j}`, "data-value": String(e.grad) }));
    }
  }

  lines() {
    if (!this.result) return [];
    return this.stepping ? stepLines(this.result) : neuronLines(this.result, this.neuron);
  }

  showDerivation() {
    if (!this.result) return;
    const lines = this.lines();
    if (this.stepping) this.line = Math.min(Math.max(this.line, 1), lines.length);
    const shown = this.stepping ? lines.slice(0, this.line) : lines;
    const list = $("derivation");
    list.replaceChildren(...shown.map((l, k) => {
      const item = document.createElement("li");
      item.innerHTML = `<span class="math">${mathToHtml(l.tex)}</span>`;
      item.dataset.kind = l.kind;
      if (this.stepping && k === shown.length - 1) item.classList.add("current");
      return item;
    }));
    $("derivation-title").textContent = this.stepping
      ? `The whole step, line ${this.line} of ${lines.length}`
      : `Neuron ${this.neuron}`;
    $("step-through").setAttribute("aria-pressed", String(this.stepping));
    $("line-prev").hidden = $("line-next").hidden = !this.stepping;
    $("line-prev").disabled = this.line <= 1;
    $("line-next").disabled = this.line >= lines.length;
    $("line-count").textContent = this.stepping ? `line ${this.line} of ${lines.length}` : "";
    const current = list.querySelector(".current");
    if (current) current.scrollIntoView({ block: "nearest" });
    this.light();
  }

  // Light the neurons and arcs of the current line (or the selected neuron).
  light() {
    if (!this.result || this.quiz.active) {
      this.network.highlight(this.quiz.active ? this.quiz.lit() : null);
      return;
    }
    if (this.stepping) {
      const l = this.lines()[this.line - 1];
      const values = ["forward", "hidden-delta"].includes(l && l.kind) ? "w" : "grad";
      this.network.highlight(l ? { neurons: l.neurons, arcs: l.arcs, values } : null);
    } else {
      const arcs = this.result.edges.filter((e) => e.j === this.neuron).map((e) => [e.i, e.j]);
      this.network.highlight({ neurons: [this.neuron], arcs });
    }
  }

  toggleStepping() {
    this.stepping = !this.stepping;
    this.line = 1;
    this.showDerivation();
    if (this.stepping) $("line-next").focus();
  }

  moveLine(by) {
    this.line += by;
    this.showDerivation();
  }
}
