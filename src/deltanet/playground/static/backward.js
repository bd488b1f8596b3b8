// The backward view: pick a point, see Δ_j on every neuron and Δ_j a_i on every arc, with
// the derivation of that step in the side panel.
import { renderMarkdown } from "./markdown.js";

function fmt(v) {
  return Number(v).toPrecision(4);
}

function cell(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

export class BackwardView {
  constructor(api, network, onError) {
    this.api = api;
    this.network = network;
    this.onError = onError;
    this.panel = document.getElementById("backward-panel");
    this.button = document.getElementById("backward-toggle");
    this.open = false;
    this.point = null;     // [x1, x2, label]
    this.result = null;
    this.busy = false;
    this.pending = false;
  }

  toggle(state, points) {
    this.open = !this.open;
    this.panel.hidden = !this.open;
    this.button.classList.toggle("active", this.open);
    this.button.setAttribute("aria-pressed", String(this.open));
    if (!this.open) {
      this.result = null;
      this.network.showBackward(state, null);
      return;
    }
    if (!this.point && points) this.point = points.train[0];
    this.refresh(state);
  }

  // Choose the data point nearest to (x1, x2) among those shown.
  pick(state, x1, x2, points, showTest) {
    const all = showTest ? [...points.train, ...points.test] : points.train;
    let best = null, dist = Infinity;
    for (const p of all) {
      const d = (p[0] - x1) ** 2 + (p[1] - x2) ** 2;
      if (d < dist) { dist = d; best = p; }
    }
    this.point = best;
    this.refresh(state);
  }

  // Ask the server for the trace of the chosen point (one request at a time).
  async refresh(state) {
    if (!this.open || !this.point) return;
    if (this.busy) { this.pending = state; return; }
    this.busy = true;
    try {
      const [x1, x2, y] = this.point;
      this.result = await this.api.backward([x1, x2], y);
      this.show(this.latest || state);
    } catch (err) {
      this.onError(err);
    } finally {
      this.busy = false;
      if (this.pending) {
        const next = this.pending;
        this.pending = false;
        this.refresh(next);
      }
    }
  }

  // Re-apply the last result after the network was redrawn.
  redraw(state) {
    this.latest = state;
    if (this.open && this.result) this.network.showBackward(state, this.result);
  }

  show(state) {
    const r = this.result;
    this.network.showBackward(state, r);
    const [x1, x2] = r.x;
    const point = document.getElementById("backward-point");
    point.dataset.x1 = String(x1);
    point.dataset.x2 = String(x2);
    point.dataset.y = String(r.y);
    point.textContent =
      `x = (${fmt(x1)}, ${fmt(x2)}), y = ${r.y}; outputs ${r.outputs.map(fmt).join(", ")}; ` +
      `loss ${r.loss_name} J = ${fmt(r.loss)}`;
    const deltas = document.getElementById("delta-table");
    deltas.replaceChildren(this.row("th", ["j", "in_j", "a_j", "Δ_j"]));
    for (const [j, n] of Object.entries(r.neurons)) {
      if (n.delta === undefined) continue;
      const tr = this.row("td", [j, fmt(n.in), fmt(n.a), fmt(n.delta)]);
      tr.setAttribute("data-testid", `delta-row-${j}`);
      tr.setAttribute("data-value", String(n.delta));
      deltas.append(tr);
    }
    const grads = document.getElementById("grad-table");
    grads.replaceChildren(this.row("th", ["arc", "w_ij", "a_i", "Δ_j", "Δ_j a_i"]));
    for (const e of r.edges) {
      const tr = this.row("td", [`(${e.i}, ${e.j})`, fmt(e.w), fmt(e.a_i), fmt(e.delta_j),
        fmt(e.grad)]);
      tr.setAttribute("data-testid", `grad-row-${e.i}-${e.j}`);
      tr.setAttribute("data-value", String(e.grad));
      grads.append(tr);
    }
    document.getElementById("derivation").innerHTML = renderMarkdown(r.markdown);
  }

  row(tag, texts) {
    const tr = document.createElement("tr");
    for (const t of texts) tr.append(cell(tag, t));
    return tr;
  }
}
