// The derivation of one training step in lecture notation, written from the numbers of
// the backward view: one line per neuron or arc, each with the neurons and arcs it uses.
//
// Lecture order (FORWARDPROPAGATE, the loss, BACKPROPAGATE, the updates):
//   in_j = w_0j + Σ_i w_ij a_i,  a_j = g(in_j)            neuron by neuron, upwards
//   output Δ_j from the loss, hidden Δ_j = g′(in_j) Σ_j′ w_jj′ Δ_j′   downwards
//   ∂J/∂w_ij = Δ_j a_i,  w_ij ← w_ij − α ∂J/∂w_ij           arc by arc
import { fmtPair, fmtTex, LOSS_NAMES } from "./format.js";

const G = { tanh: "\\tanh", relu: "\\operatorname{relu}", logistic: "\\sigma",
  softplus: "\\operatorname{softplus}", identity: "", softmax: "\\operatorname{softmax}" };

const num = (v) => fmtTex(v);
const factor = (v) => (v < 0 ? `(${num(v)})` : num(v));

// What neuron i passes on: a_i, or â_i after batch normalisation.
function aName(r, i) {
  if (i === 0) return "a_{0}";
  const n = r.neurons[String(i)];
  return n && n.bn_scale !== null && n.bn_scale !== undefined ? `\\hat{a}_{${i}}` : `a_{${i}}`;
}

function incoming(r, j) {
  return r.edges.filter((e) => e.j === j).sort((p, q) => p.i - q.i);
}

function outgoing(r, j) {
  return r.edges.filter((e) => e.i === j).sort((p, q) => p.j - q.j);
}

function line(kind, j, tex, neurons, arcs = []) {
  return { kind, neuron: j, tex, neurons, arcs };
}

export function forwardLine(r, j) {
  const n = r.neurons[String(j)];
  if (n.delta === undefined) {
    const k = j - 1;
    return line("input", j, `a_{${j}} = ${r.features[k]} = ${num(r.inputs[k])}`, [j]);
  }
  const ins = incoming(r, j);
  const terms = ins.map((e) => (e.i ? `w_{${e.i},${j}} ${aName(r, e.i)}` : `w_{0,${j}}`));
  const nums = ins.map((e) => (e.i ? `${factor(e.w)} \\cdot ${factor(e.a_i)}` : factor(e.w)));
  const g = G[n.activation];
  const act = n.activation === "identity" ? `in_{${j}}`
    : n.activation === "softmax" ? `${g}(in)_{${j}}` : `${g}(in_{${j}})`;
  let tex = `in_{${j}} = ${terms.join(" + ")} = ${nums.join(" + ")} = ${num(n.in)},\\quad ` +
    `a_{${j}} = ${act} = ${num(n.a)}`;
  if (n.bn_scale !== null) {
    tex += `,\\quad \\hat{a}_{${j}} = ${num(n.out)}` +
      ` \\text{ (batch norm, } s_{${j}} = ${num(n.bn_scale)})`;
  }
  return line("forward", j, tex, [j, ...ins.filter((e) => e.i).map((e) => e.i)],
    ins.map((e) => [e.i, j]));
}

export function lossLine(r) {
  const outs = r.output_ids;
  const y = r.target;
  let tex;
  if (r.loss_name === "squared_error") {
    const nums = outs.map((j, k) => `(${num(y[k])} - ${num(r.neurons[j].a)})^{2}`);
    tex = `J = \\sum_k (y_k - a_k)^{2} = ${nums.join(" + ")}`;
  } else if (r.loss_name === "log_loss") {
    const a = r.neurons[outs[0]].a;
    const [p, q] = [num(a), num(1 - a)];
    tex = `J = -[y \\log a_{${outs[0]}} + (1 - y) \\log(1 - a_{${outs[0]}})] = ` +
      `-[${num(y[0])} \\log ${p} + ${num(1 - y[0])} \\log ${q}]`;
  } else {
    const k = y.findIndex((v) => v === 1);
    const j = outs[Math.max(k, 0)];
    tex = `J = -\\sum_k y_k \\log a_k = -\\log a_{${j}} = -\\log ${num(r.neurons[j].a)}`;
  }
  tex += ` = ${num(r.loss)} \\text{ (${LOSS_NAMES[r.loss_name]})}`;
  return line("loss", null, tex, [...outs]);
}

export function outputDeltaLine(r, j) {
  const k = r.output_ids.indexOf(j);
  const n = r.neurons[String(j)];
  const y = r.target[k];
  let tex;
  if (r.loss_name !== "squared_error") {
    tex = `\\Delta_{${j}} = a_{${j}} - y_{${k + 1}} = ${num(n.a)} - ${num(y)}`;
  } else if (n.activation === "softmax") {
    tex = `\\Delta_{${j}} = a_{${j}} (\\partial \\ell / \\partial a_{${j}} - ` +
      "\\sum_k a_k \\, \\partial \\ell / \\partial a_k),\\ \\partial \\ell / \\partial a_k = " +
      "-2(y_k - a_k)";
  } else {
    tex = `\\Delta_{${j}} = -2(y_{${k + 1}} - a_{${j}}) g'(in_{${j}}) = ` +
      `-2(${num(y)} - ${num(n.a)}) \\cdot ${factor(n.g_prime)}`;
  }
  return line("output-delta", j, `${tex} = ${num(n.delta)}`, [j]);
}

export function hiddenDeltaLine(r, j) {
  const n = r.neurons[String(j)];
  const outs = outgoing(r, j);
  const sum = outs.reduce((s, e) => s + e.w * r.neurons[e.j].delta, 0);
  const terms = outs.map((e) => `${factor(e.w)} \\cdot ${factor(r.neurons[e.j].delta)}`)
    .join(" + ");
  const s = n.bn_scale === null ? "" : ` s_{${j}}`;
  const sv = n.bn_scale === null ? "" : ` \\cdot ${factor(n.bn_scale)}`;
  const tex = `\\Delta_{${j}} = g'(in_{${j}})${s} \\sum_{j'} w_{${j},j'} \\Delta_{j'} = ` +
    `${factor(n.g_prime)}${sv} \\cdot (${terms}) = ${factor(n.g_prime)}${sv} \\cdot ` +
    `${factor(sum)} = ${num(n.delta)}`;
  return line("hidden-delta", j, tex, [j, ...outs.map((e) => e.j)], outs.map((e) => [j, e.j]));
}

export function gradientLine(r, e) {
  const { i, j } = e;
  let tex = `\\partial J / \\partial w_{${i},${j}} = \\Delta_{${j}} ${aName(r, i)} = ` +
    `${factor(e.delta_j)} \\cdot ${factor(e.a_i)} = ${num(e.grad)}`;
  if (e.reg !== 0) {
    const term = r.penalty.name === "l2" ? `2 \\lambda w_{${i},${j}}`
      : `\\lambda \\operatorname{sign}(w_{${i},${j}})`;
    tex += ` + ${term} = ${num(e.grad)} + ${factor(e.reg)} = ${num(e.grad + e.reg)}`;
  }
  return line("gradient", j, tex, i ? [i, j] : [j], [[i, j]]);
}

export function updateLine(r, e) {
  const { i, j } = e;
  const tex = `w_{${i},${j}} \\leftarrow w_{${i},${j}} - \\alpha \\, ` +
    `\\partial J / \\partial w_{${i},${j}} = ${num(e.w)} - ${num(r.lr)} \\cdot ` +
    `${factor(e.grad + e.reg)} = ${num(e.new_w)}`;
  return line("update", j, tex, i ? [i, j] : [j], [[i, j]]);
}

export function afterLine(r) {
  const [before, after] = fmtPair(r.loss, r.loss_after, fmtTex);
  const verb = r.loss_after < r.loss ? "lowers" : r.loss_after > r.loss ? "raises" : "keeps";
  return line("after", null, `\\text{The update ${verb} this point's } J: ${before} ` +
    `\\to ${after}`, [...r.output_ids]);
}

const byId = (r) => Object.keys(r.neurons).map(Number).sort((p, q) => p - q);

// Every line of the step, in lecture order.
export function stepLines(r) {
  const ids = byId(r);
  const hidden = ids.filter((j) => r.neurons[j].delta !== undefined
    && !r.output_ids.includes(j));
  const edges = [...r.edges].sort((p, q) => p.j - q.j || p.i - q.i);
  return [
    ...ids.map((j) => forwardLine(r, j)),
    lossLine(r),
    ...r.output_ids.map((j) => outputDeltaLine(r, j)),
    ...hidden.reverse().map((j) => hiddenDeltaLine(r, j)),
    ...edges.map((e) => gradientLine(r, e)),
    ...edges.map((e) => updateLine(r, e)),
    afterLine(r),
  ];
}

// The lines of one neuron j, in lecture order: its forward line, the loss and its Δ_j,
// and the gradient and update of each arc into j.
export function neuronLines(r, j) {
  const n = r.neurons[String(j)];
  if (!n) return [];
  if (n.delta === undefined) return [forwardLine(r, j)];
  const out = r.output_ids.includes(j);
  const ins = incoming(r, j);
  return [forwardLine(r, j), ...(out ? [lossLine(r), outputDeltaLine(r, j)]
    : [hiddenDeltaLine(r, j)]), ...ins.map((e) => gradientLine(r, e)),
  ...ins.map((e) => updateLine(r, e))];
}
