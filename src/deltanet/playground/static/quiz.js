// Quiz: ask for one number of the step on the picked point, check it at the precision the
// page shows, and on a wrong answer name the first slip it can identify.
//
// Each kind of question lists the usual slips as other values the answer may equal
// ("forgot g′(in_j)", "sign error", ...), in the order a student makes them.
import { fmt, shownUnit } from "./format.js";

export const KINDS = {
  in: "in_j, the net input of neuron j",
  a: "a_j, the output of neuron j",
  delta: "Δ_j, the delta of neuron j",
  grad: "∂J/∂w_ij, the gradient of arc (i, j)",
  new_w: "w_ij after the update",
};

const neuron = (r, j) => r.neurons[String(j)];
const isHidden = (r, i) => i > 0 && neuron(r, i).delta !== undefined;

function inSlips(r, j) {
  const n = neuron(r, j);
  const ins = r.edges.filter((e) => e.j === j);
  const bias = ins.find((e) => e.i === 0);
  const slips = [];
  if (bias) slips.push([n.in - bias.w, "forgot the bias weight w_0j (the bias unit a_0 = 1)"]);
  if (ins.some((e) => isHidden(r, e.i))) {
    const wrong = ins.reduce((s, e) => s + e.w * (isHidden(r, e.i) ? neuron(r, e.i).in
      : e.i ? e.a_i : 1), 0);
    slips.push([wrong, "used in_i of the neurons below instead of their outputs a_i"]);
  }
  slips.push([n.a, "applied the activation g: that is a_j, the net input is in_j"]);
  slips.push([-n.in, "made a sign error"]);
  return [n.in, slips];
}

function aSlips(r, j) {
  const n = neuron(r, j);
  return [n.a, [[n.in, "forgot to apply the activation g: a_j = g(in_j)"],
    [-n.a, "made a sign error"]]];
}

function deltaSlips(r, j) {
  const n = neuron(r, j);
  const d = n.delta;
  if (r.output_ids.includes(j)) {
    if (r.loss_name === "squared_error") {
      return [d, [[d / n.g_prime, "forgot g′(in_j): Δ_j = −2(y − a_j) g′(in_j)"],
        [-d, "made a sign error: Δ_j = −2(y − a_j) g′(in_j)"],
        [d / 2, "forgot the factor 2 of the squared error"]]];
    }
    return [d, [[-d, "made a sign error: with cross-entropy Δ_j = a_j − y, not y − a_j"],
      [d * n.g_prime, "multiplied by g′(in_j), which cancels with cross-entropy: Δ_j = a_j − y"]]];
  }
  const outs = r.edges.filter((e) => e.i === j);
  const scale = n.bn_scale === null ? 1 : n.bn_scale;
  const sum = outs.reduce((s, e) => s + e.w * neuron(r, e.j).delta, 0);
  const slips = [[sum * scale, "forgot g′(in_j): Δ_j = g′(in_j) Σ_j′ w_jj′ Δ_j′"]];
  const ins = r.edges.filter((e) => e.j === j && e.i > 0);
  if (ins.length === outs.length) {
    const swapped = ins.reduce((s, e, k) => s + e.w * neuron(r, outs[k].j).delta, 0);
    slips.push([n.g_prime * scale * swapped,
      "used the weights w_ij into neuron j (w_j′j) instead of the weights w_jj′ out of it"]);
  }
  slips.push([n.a * scale * sum, "used a_j instead of g′(in_j)"]);
  slips.push([-d, "made a sign error"]);
  for (const e of outs) {
    slips.push([d - n.g_prime * scale * e.w * neuron(r, e.j).delta,
      `left out the term w_${j},${e.j} Δ_${e.j} of the sum over the neurons j′ that j feeds`]);
  }
  return [d, slips];
}

function gradSlips(r, e) {
  const total = e.grad + e.reg;
  const slips = [];
  if (e.reg !== 0) slips.push([e.grad, "forgot the regularisation term"]);
  slips.push([e.delta_j * neuron(r, e.j).a + e.reg, "used a_j instead of a_i: ∂J/∂w_ij = Δ_j a_i"]);
  slips.push([e.delta_j + e.reg, "forgot the factor a_i: ∂J/∂w_ij = Δ_j a_i"]);
  if (isHidden(r, e.i)) {
    slips.push([e.delta_j * neuron(r, e.i).in + e.reg, "used in_i instead of a_i"]);
  }
  slips.push([-total, "made a sign error"]);
  return [total, slips];
}

function updateSlips(r, e) {
  const g = e.grad + e.reg;
  const slips = [[e.w + r.lr * g, "added α ∂J/∂w_ij: the update goes against the gradient, " +
    "w_ij ← w_ij − α ∂J/∂w_ij"], [e.w - g, "forgot the learning rate α"]];
  if (e.reg !== 0) slips.push([e.w - r.lr * e.grad, "forgot the regularisation term"]);
  slips.push([-r.lr * g, "gave the change −α ∂J/∂w_ij, not the new weight"]);
  return [e.new_w, slips];
}

// [right value, slips] for a question {kind, j} or {kind, arc: [i, j]}.
export function expected(r, question) {
  const { kind } = question;
  if (kind === "grad" || kind === "new_w") {
    const [i, j] = question.arc;
    const e = r.edges.find((x) => x.i === i && x.j === j);
    return kind === "grad" ? gradSlips(r, e) : updateSlips(r, e);
  }
  return { in: inSlips, a: aSlips, delta: deltaSlips }[kind](r, question.j);
}

const close = (answer, value) => Math.abs(answer - value) <= shownUnit(value) * 1.0001;

// {correct, value, slip}: slip is the first usual slip the answer matches, or null.
export function check(r, question, answer) {
  const [value, slips] = expected(r, question);
  if (close(answer, value)) return { correct: true, value, slip: null };
  const slip = slips.find(([v]) => !close(v, value) && close(answer, v));
  return { correct: false, value, slip: slip ? slip[1] : null };
}

// The feedback text for a checked answer.
export function feedback(result, answer) {
  if (result.correct) return `Right: ${fmt(result.value)}.`;
  if (result.slip) return `Not quite (${fmt(answer)}): it looks like you ${result.slip}.`;
  return `Not quite (${fmt(answer)}), and not one of the usual slips: work through the ` +
    "derivation line by line (Step through) and compare.";
}

// Read a typed number: "0.25", "-1.5e-3", "−0.2", "1,5" (decimal comma).
export function parseAnswer(text) {
  const clean = text.trim().replace("−", "-").replace(",", ".").replace(/×10\^?/, "e");
  return clean === "" ? NaN : Number(clean);
}
