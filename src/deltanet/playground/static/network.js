// The network diagram: feature toggles, neurons with small heatmaps, arcs coloured and sized
// by weight, bias squares, and per-layer controls. Neurons carry lecture numbers. Every
// part can be reached with Tab and used with Enter or Space, and works by touch.
import { CLASS_RGB, decode, diverging, MID, mix, paintGrid, rgbCss, toSigned } from "./heatmap.js";
import { fmt } from "./format.js";

export const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const LABELS = { "x1": "X₁", "x2": "X₂", "x1^2": "X₁²", "x2^2": "X₂²", "x1*x2": "X₁X₂",
  "sin(x1)": "sin(X₁)", "sin(x2)": "sin(X₂)" };
const ACTS = [["tanh", "Tanh"], ["relu", "ReLU"], ["logistic", "Logistic"],
  ["softplus", "Softplus"], ["identity", "Linear"]];
const NODE = 38, GAP = 54, LEFT = 54, SVGNS = "http://www.w3.org/2000/svg";
export const MAX_NEURONS = 8;
// Room above the neurons for the layer controls (larger for touch).
const top = () => (matchMedia("(pointer: coarse)").matches ? 104 : 64);

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

// Run `action(event)` on a click, and on Enter or Space when the element has the focus.
function activate(node, action) {
  node.addEventListener("click", action);
  node.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      event.stopPropagation();
      const box = node.getBoundingClientRect();
      action({ pageX: box.left + window.scrollX + box.width / 2,
        pageY: box.top + window.scrollY + box.height / 2, stopPropagation() {} });
    }
  });
}

export class NetworkView {
  constructor(container, svg, handlers) {
    this.container = container;
    this.svg = svg;
    this.handlers = handlers;
    this.key = null;
    this.pos = new Map();      // neuron id -> [x, y] of its box's top-left corner
    this.state = null;
    this.lit = null;           // {neurons, arcs} lit by the backward view
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
    const key = JSON.stringify([this.width, state.config.n_classes,
      columns.map((c) => c.map((n) => [n.id, n.label, n.activation]))]);
    if (key !== this.key) this.build(state, columns);
    this.key = key;
    this.update(state);
  }

  build(state, columns) {
    this.container.querySelectorAll(".node, .bias, .delta, .layer-controls, .col-title")
      .forEach((n) => n.remove());
    this.pos.clear();
    const width = Math.max(this.container.clientWidth, 240);
    const step = (width - NODE - LEFT - 6) / Math.max(columns.length - 1, 1);
    const tallest = Math.max(...columns.map((c) => c.length));
    const TOP = top();
    const height = TOP + tallest * GAP + 10;
    this.container.style.height = `${height}px`;
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", height);
    this.outputs = columns[columns.length - 1].map((n) => n.id);
    columns.forEach((column, c) => {
      const x = LEFT + c * step;
      const last = c === columns.length - 1;
      const title = c === 0 ? "Features" : last ? "Output" : null;
      if (title) {
        const head = el("div", { class: "col-title" }, title);
        this.place(head, c === 0 ? 0 : x - 6, 4);
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
    const box = el("div", { class: `node ${n.kind}`, tabindex: "0" });
    this.place(box, x, y);
    if (n.kind === "feature" || n.kind === "input") {
      box.setAttribute("data-testid", n.id === null ? `feature-${n.label}` : `neuron-${n.id}`);
      box.dataset.feature = n.label;
      box.setAttribute("role", "switch");
      box.setAttribute("aria-checked", String(n.id !== null));
      box.setAttribute("aria-label", n.id === null ? `feature ${n.label}, not used`
        : `feature ${n.label}, neuron ${n.id}`);
      box.title = n.id === null ? `${n.label}: click to use this feature`
        : `neuron ${n.id} = ${n.label}: click to switch off`;
      box.append(el("span", { class: "feature-label", "aria-hidden": "true" }, LABELS[n.label]));
      activate(box, () => this.handlers.toggleFeature(n.label));
    } else {
      box.setAttribute("data-testid", `neuron-${n.id}`);
      box.setAttribute("role", "button");
      box.setAttribute("aria-label", `neuron ${n.id}, ${n.kind} (${n.activation}): ` +
        "show its derivation");
      box.title = `neuron ${n.id} (${n.activation}): click for its derivation`;
      // The bias square sits at the neuron's corner, as its own control (not inside it).
      const bias = el("div", { class: "bias", "data-testid": `bias-${n.id}`, tabindex: "0",
        role: "button", "aria-label": `bias weight w0,${n.id}: edit` });
      bias.title = `bias weight w0,${n.id}`;
      this.place(bias, x - 7, y + NODE - 5);
      activate(bias, (e) => this.handlers.editWeight(0, n.id, e));
      activate(box, () => this.handlers.selectNeuron(n.id));
      box.bias = bias;
    }
    if (n.id !== null) {
      box.append(el("canvas", { width: NODE - 2, height: NODE - 2, "data-map": n.id }));
      box.append(el("span", { class: "number", "aria-hidden": "true" }, String(n.id)));
      // Δ_j under the neuron, beside it in the page (the neuron's name carries the value)
      box.delta = el("div", { class: "delta", "data-testid": `delta-${n.id}`, hidden: "",
        "aria-hidden": "true", "data-neuron": String(n.id) });
      this.place(box.delta, x + 5, y + NODE + 1);
      this.pos.set(n.id, [x, y]);
      const preview = (on) => this.handlers.previewNeuron(on ? n.id : null);
      box.addEventListener("mouseenter", () => preview(true));
      box.addEventListener("mouseleave", () => preview(false));
      box.addEventListener("focus", () => preview(true));
      box.addEventListener("blur", () => preview(false));
    }
    this.container.append(box);
    if (box.bias) this.container.append(box.bias);
    if (box.delta) this.container.append(box.delta);
  }

  layerControls(c, column, x, state) {
    const box = el("div", { class: "layer-controls" });
    this.place(box, x - 14, 2);
    const add = el("button", { "data-testid": `add-neuron-${c}`, title: "Add a neuron",
      "aria-label": `Add a neuron to hidden layer ${c}` }, "+");
    const remove = el("button", { "data-testid": `remove-neuron-${c}`,
      title: "Remove a neuron", "aria-label": `Remove a neuron from hidden layer ${c}` }, "−");
    add.disabled = column.length >= MAX_NEURONS;
    remove.disabled = column.length <= 1;
    add.addEventListener("click", () => this.handlers.resizeLayer(c - 1, +1));
    remove.addEventListener("click", () => this.handlers.resizeLayer(c - 1, -1));
    const count = el("div", { class: "count" },
      `${column.length} neuron${column.length > 1 ? "s" : ""}`);
    const select = el("select", { "data-testid": `layer-activation-${c}`,
      "aria-label": `Activation of hidden layer ${c}`, title: `Activation of hidden layer ${c}` });
    for (const [value, label] of ACTS) select.append(el("option", { value }, label));
    select.value = state.config.activations[c - 1];
    select.addEventListener("change", () => this.handlers.setActivation(c - 1, select.value));
    box.append(add, remove, count, select);
    this.container.append(box);
  }

  // Colour of neuron `id`'s value v: a multi-class output in its class colour.
  colorFn(id, values) {
    const k = this.outputs.indexOf(Number(id));
    if (k >= 0 && this.outputs.length > 1) {
      return (i) => mix(MID, CLASS_RGB[k % CLASS_RGB.length], (values[i] + 1) / 2);
    }
    return (i) => diverging(values[i]);
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
      paintGrid(canvas, size, this.colorFn(id, values));
    }
    this.drawEdges(state.network.edges, this.grads || null);
  }

  edgePath(i, j) {
    const [x1, y1] = this.pos.get(i), [x2, y2] = this.pos.get(j);
    const ax = x1 + NODE, ay = y1 + NODE / 2, bx = x2, by = y2 + NODE / 2;
    const mx = (ax + bx) / 2;
    return `M${ax},${ay} C${mx},${ay} ${mx},${by} ${bx},${by}`;
  }

  // Arcs by weight (or, in the backward view, by Δ_j a_i); the lit arcs carry a label.
  drawEdges(edges, grads) {
    this.svg.replaceChildren();
    this.container.querySelectorAll(".arc-label").forEach((n) => n.remove());
    const scale = grads ? Math.max(...grads.map((g) => Math.abs(g.grad)), 1e-12) : 1;
    const byArc = new Map((grads || []).map((g) => [`${g.i}-${g.j}`, g]));
    const lit = new Set(((this.lit && this.lit.arcs) || []).map(([i, j]) => `${i}-${j}`));
    for (const [i, j, w] of edges) {
      const g = byArc.get(`${i}-${j}`);
      if (i === 0) {
        this.biasSquare(j, w, lit.has(`0-${j}`));
        continue;
      }
      if (!this.pos.has(i) || !this.pos.has(j)) continue;
      const value = g ? g.grad / scale : w;
      const on = lit.has(`${i}-${j}`);
      const label = g ? `Δ${j}·a${i} = ${fmt(g.grad)}` : `w${i},${j} = ${fmt(w)}`;
      const group = svgEl("g", { "data-testid": `edge-${i}-${j}`, "data-weight": String(w),
        class: `edge${on ? " lit" : ""}`, tabindex: "0", role: "button",
        "aria-label": `arc from ${i} to ${j}, ${label}: edit the weight` });
      const d = this.edgePath(i, j);
      const width = Math.min(1 + Math.abs(value) * 3, 9);
      group.append(svgEl("path", { d, class: "line", stroke: rgbCss(diverging(value)),
        "stroke-width": width.toFixed(2) }));
      group.append(svgEl("path", { d, class: "hit" }));
      const title = svgEl("title");
      title.textContent = label;
      group.append(title);
      activate(group, (e) => this.handlers.editWeight(i, j, e));
      this.svg.append(group);
      if (on && !this.hideValues) {
        // a lit arc is labelled with what its line uses: w_ij, or Δ_j a_i once known
        if (g && this.lit.values !== "w") this.arcLabel(i, j, g.grad, "grad");
        else this.arcLabel(i, j, w, "weight");
      }
    }
  }

  biasSquare(j, w, on) {
    const bias = this.container.querySelector(`[data-testid="bias-${j}"]`);
    if (!bias) return;
    bias.style.background = rgbCss(diverging(w));
    bias.dataset.weight = String(w);
    bias.classList.toggle("lit", on);
    bias.setAttribute("aria-label", `bias weight w0,${j} = ${fmt(w)}: edit`);
  }

  arcLabel(i, j, value, kind) {
    const [x1, y1] = this.pos.get(i), [x2, y2] = this.pos.get(j);
    const x = (x1 + NODE + x2) / 2, y = (y1 + y2) / 2 + NODE / 2;
    const label = el("div", { class: `arc-label ${kind}-label`, "aria-hidden": "true",
      "data-testid": `${kind}-${i}-${j}`, "data-value": String(value) }, fmt(value));
    this.place(label, x - 24, y - 8);
    this.container.append(label);
  }

  // Show Δ_j on every processing neuron and Δ_j a_i on the arcs (null clears them);
  // `hideValues` (the quiz) keeps the numbers out of sight.
  showBackward(state, result, hideValues = false) {
    this.grads = result ? result.edges : null;
    this.hideValues = hideValues;
    for (const box of this.container.querySelectorAll(".delta")) {
      const id = box.dataset.testid.slice("delta-".length);
      const n = result && result.neurons[id];
      const neuron = this.container.querySelector(`[data-testid="neuron-${id}"]`);
      const label = neuron.getAttribute("aria-label").replace(/, Δ = [^:]*:/, ":");
      if (n && n.delta !== undefined && !hideValues) {
        box.dataset.value = String(n.delta);
        box.textContent = `Δ ${fmt(n.delta)}`;
        box.hidden = false;
        neuron.setAttribute("aria-label", label.replace(":", `, Δ = ${fmt(n.delta)}:`));
      } else {
        box.hidden = true;
        neuron.setAttribute("aria-label", label);
      }
    }
    this.drawEdges(state.network.edges, this.grads);
  }

  // Light neurons and arcs ({neurons, arcs}, or null for none).
  highlight(lit) {
    this.lit = lit;
    const on = new Set((lit && lit.neurons) || []);
    this.container.classList.toggle("has-lit", Boolean(lit));
    for (const box of this.container.querySelectorAll(".node[data-testid^=neuron-]")) {
      box.classList.toggle("lit", on.has(Number(box.dataset.testid.slice(7))));
    }
    if (this.state) this.drawEdges(this.state.network.edges, this.grads || null);
  }
}
