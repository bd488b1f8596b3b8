// The network diagram: feature toggles, neurons with small heatmaps, arcs coloured and sized
// by weight, bias squares, and per-layer controls. Neurons carry lecture numbers.
import { decode, diverging, paintGrid, rgbCss, toSigned } from "./heatmap.js";

export const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const LABELS = { "x1": "X₁", "x2": "X₂", "x1^2": "X₁²", "x2^2": "X₂²", "x1*x2": "X₁X₂",
  "sin(x1)": "sin(X₁)", "sin(x2)": "sin(X₂)" };
const ACTS = [["tanh", "Tanh"], ["relu", "ReLU"], ["logistic", "Logistic"],
  ["softplus", "Softplus"], ["identity", "Linear"]];
const NODE = 38, GAP = 58, TOP = 64, SVGNS = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// A number in at most about seven characters.
function short(v) {
  return v === 0 || Math.abs(v) >= 1e-3 ? v.toPrecision(3) : v.toExponential(1);
}

export class NetworkView {
  constructor(container, svg, handlers) {
    this.container = container;
    this.svg = svg;
    this.handlers = handlers;
    this.key = null;
    this.pos = new Map();      // neuron id -> [x, y] of its box's top-left corner
    this.state = null;
    this.onRedraw = null;      // called after a redraw caused by a change of width
    new ResizeObserver(() => {
      if (this.state && this.container.clientWidth !== this.width) {
        this.render(this.state);
        if (this.onRedraw) this.onRedraw();
      }
    }).observe(container);
  }

  // Column layout: all seven features, the hidden layers, the outputs.
  columns(state) {
    const active = new Map(state.network.columns[0].map((n) => [n.label, n]));
    const inputs = FEATURES.map((name) => active.get(name) || { id: null, label: name,
      kind: "feature" });
    return [inputs, ...state.network.columns.slice(1)];
  }

  render(state) {
    this.state = state;
    const columns = this.columns(state);
    this.width = this.container.clientWidth;
    const key = JSON.stringify([this.width,
      columns.map((c) => c.map((n) => [n.id, n.label, n.activation]))]);
    if (key !== this.key) this.build(state, columns);
    this.key = key;
    this.update(state);
  }

  build(state, columns) {
    this.container.querySelectorAll(".node, .layer-controls, .col-title").forEach((n) => n.remove());
    this.pos.clear();
    const width = Math.max(this.container.clientWidth, 420);
    const step = (width - NODE - 40) / Math.max(columns.length - 1, 1);
    const tallest = Math.max(...columns.map((c) => c.length));
    const height = TOP + tallest * GAP + 10;
    this.container.style.height = `${height}px`;
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", height);
    columns.forEach((column, c) => {
      const x = 20 + c * step;
      const last = c === columns.length - 1;
      const title = c === 0 ? "Features" : last ? "Output" : null;
      if (title) {
        const head = el("div", { class: "col-title" }, title);
        this.place(head, x - 10, 4);
        this.container.append(head);
      }
      if (c > 0 && !last) this.layerControls(c, column, x, state);
      column.forEach((n, r) => this.node(n, x, TOP + r * GAP));
    });
  }

  place(node, x, y) {
    node.style.left = `${x}px`;
    node.style.top = `${y}px`;
  }

  node(n, x, y) {
    const box = el("div", { class: `node ${n.kind}` });
    this.place(box, x, y);
    if (n.kind === "feature" || n.kind === "input") {
      box.dataset.testid = n.id === null ? `feature-${n.label}` : `neuron-${n.id}`;
      box.setAttribute("data-testid", box.dataset.testid);
      box.dataset.feature = n.label;
      box.title = n.id === null ? `${n.label}: click to use this feature`
        : `neuron ${n.id} = ${n.label}: click to switch off`;
      box.append(el("span", { class: "feature-label" }, LABELS[n.label]));
      box.addEventListener("click", () => this.handlers.toggleFeature(n.label));
    } else {
      box.setAttribute("data-testid", `neuron-${n.id}`);
      box.title = `neuron ${n.id} (${n.activation})`;
      const bias = el("div", { class: "bias", "data-testid": `bias-${n.id}` });
      bias.title = `bias weight w0,${n.id}`;
      bias.addEventListener("click", (e) => {
        e.stopPropagation();
        this.handlers.editWeight(0, n.id, e);
      });
      box.append(bias);
    }
    if (n.id !== null) {
      box.append(el("canvas", { width: NODE - 2, height: NODE - 2, "data-map": n.id }));
      box.append(el("span", { class: "number" }, String(n.id)));
      box.append(el("div", { class: "delta", "data-testid": `delta-${n.id}`, hidden: "" }));
      this.pos.set(n.id, [x, y]);
    }
    this.container.append(box);
  }

  layerControls(c, column, x, state) {
    const box = el("div", { class: "layer-controls" });
    this.place(box, x - 14, 2);
    const add = el("button", { "data-testid": `add-neuron-${c}`, title: "Add a neuron" }, "+");
    const remove = el("button", { "data-testid": `remove-neuron-${c}`,
      title: "Remove a neuron" }, "−");
    add.addEventListener("click", () => this.handlers.resizeLayer(c - 1, +1));
    remove.addEventListener("click", () => this.handlers.resizeLayer(c - 1, -1));
    const count = el("div", { class: "count" },
      `${column.length} neuron${column.length > 1 ? "s" : ""}`);
    const select = el("select", { "data-testid": `layer-activation-${c}`,
      title: `Activation of hidden layer ${c}` });
    for (const [value, label] of ACTS) select.append(el("option", { value }, label));
    select.value = state.config.activations[c - 1];
    select.addEventListener("change", () => this.handlers.setActivation(c - 1, select.value));
    box.append(add, remove, count, select);
    this.container.append(box);
  }

  // Heatmaps, weights and biases of the current state (the structure is already built).
  update(state) {
    const acts = new Map();
    state.network.columns.flat().forEach((n) => acts.set(String(n.id), n.activation));
    const size = state.heatmaps.size;
    for (const canvas of this.container.querySelectorAll("canvas[data-map]")) {
      const id = canvas.dataset.map;
      const map = state.heatmaps.neurons[id];
      if (!map) continue;
      const values = toSigned(decode(map), acts.get(id), map);
      paintGrid(canvas, size, (k) => diverging(values[k]));
    }
    this.drawEdges(state.network.edges, null);
  }

  edgePath(i, j) {
    const [x1, y1] = this.pos.get(i), [x2, y2] = this.pos.get(j);
    const ax = x1 + NODE, ay = y1 + NODE / 2, bx = x2, by = y2 + NODE / 2;
    const mx = (ax + bx) / 2;
    return `M${ax},${ay} C${mx},${ay} ${mx},${by} ${bx},${by}`;
  }

  // Arcs by weight (or, in the backward view, by Δ_j a_i with a label on each arc).
  drawEdges(edges, grads) {
    this.svg.replaceChildren();
    const scale = grads ? Math.max(...grads.map((g) => Math.abs(g.grad)), 1e-12) : 1;
    const byArc = new Map((grads || []).map((g) => [`${g.i}-${g.j}`, g]));
    for (const [i, j, w] of edges) {
      if (i === 0) {
        const bias = this.container.querySelector(`[data-testid="bias-${j}"]`);
        if (bias) {
          bias.style.background = rgbCss(diverging(w));
          bias.dataset.weight = String(w);
        }
        continue;
      }
      if (!this.pos.has(i) || !this.pos.has(j)) continue;
      const g = byArc.get(`${i}-${j}`);
      const value = g ? g.grad / scale : w;
      const group = svgEl("g", { "data-testid": `edge-${i}-${j}`, "data-weight": String(w),
        class: "edge" });
      const d = this.edgePath(i, j);
      const width = Math.min(1 + Math.abs(value) * 3, 9);
      group.append(svgEl("path", { d, class: "line", stroke: rgbCss(diverging(value)),
        "stroke-width": width.toFixed(2) }));
      group.append(svgEl("path", { d, class: "hit" }));
      const title = svgEl("title");
      title.textContent = g ? `Δ${j}·a${i} = ${g.grad.toPrecision(4)}` : `w${i},${j} = ${w.toPrecision(4)}`;
      group.append(title);
      group.addEventListener("click", (e) => this.handlers.editWeight(i, j, e));
      this.svg.append(group);
      if (g) this.gradLabel(i, j, g.grad);
    }
  }

  gradLabel(i, j, grad) {
    const [x1, y1] = this.pos.get(i), [x2, y2] = this.pos.get(j);
    const t = 0.7;
    const x = (x1 + NODE) * (1 - t) + x2 * t, y = (y1 + NODE / 2) * (1 - t) + (y2 + NODE / 2) * t;
    const text = svgEl("text", { x: x.toFixed(1), y: (y - 2).toFixed(1), class: "grad-label",
      "data-testid": `grad-${i}-${j}`, "data-value": String(grad) });
    text.textContent = short(grad);
    this.svg.append(text);
  }

  // Show Δ_j on every processing neuron and Δ_j a_i on every arc (null clears them).
  showBackward(state, result) {
    for (const box of this.container.querySelectorAll(".delta")) {
      const id = box.dataset.testid.slice("delta-".length);
      const n = result && result.neurons[id];
      if (n && n.delta !== undefined) {
        box.dataset.value = String(n.delta);
        box.textContent = `Δ ${short(n.delta)}`;
        box.hidden = false;
      } else {
        box.hidden = true;
      }
    }
    this.drawEdges(state.network.edges, result ? result.edges : null);
  }
}
