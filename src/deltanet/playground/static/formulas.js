// Each activation g with g'(in), and each loss ℓ with its output delta Δ_j = ∂ℓ/∂in_j, as
// deltanet/activations.py and deltanet/losses.py compute them (same stable forms, same
// order of operations). Values work on batches: arrays of rows.

const map = (rows, f) => rows.map((row) => row.map(f));

// e^x for x <= 0 as deltanet's compiled engine computes it (kernels/_elementwise.py's
// exp_nonpositive, in IEEE double arithmetic only, so the same bits on every CPU; Math.exp
// differs from it and from the C library's exp in the last bit of about 1 value in 10):
// e^x = 2^k e^r, k = round(x / ln 2) by adding MAGIC, r = x − k ln 2 with ln 2 in two
// parts, e^r by 14 Taylor terms (terms 5..13 side by side as Estrin's scheme, then 4..0 by
// Horner's rule, in the kernel's order), 2^k from the low bits of the rounded sum.
export const EXP = {
  low: -708.3964185322641, invLn2: 1.4426950408889634, ln2Hi: 0.6931471803691238,
  ln2Lo: 1.9082149292705877e-10, magic: 6755399441056767,
  taylor: Array.from({ length: 14 }, (_, n) => {
    let f = 1;
    for (let k = 2; k <= n; k += 1) f *= k;
    return 1 / f;
  }),
};
const bits = new DataView(new ArrayBuffer(8));

export function expNonpositive(x) {
  let xc = x < EXP.low ? EXP.low : x;
  xc = xc > 0 ? 0 : xc;
  const rounded = xc * EXP.invLn2 + EXP.magic;
  const k = rounded - EXP.magic;
  const r = (xc - k * EXP.ln2Hi) - k * EXP.ln2Lo;
  const t = EXP.taylor;
  const r2 = r * r;
  const r4 = r2 * r2;
  const q = ((t[5] + t[6] * r) + (t[7] + t[8] * r) * r2)
    + (((t[9] + t[10] * r) + (t[11] + t[12] * r) * r2) + t[13] * r4) * r4;
  let p = t[4] + q * r;
  for (let i = 3; i >= 0; i -= 1) p = t[i] + p * r;
  bits.setFloat64(0, rounded, true);
  const exponent = bits.getUint32(0, true) << 20; // (k + 1023) into the exponent field
  bits.setUint32(0, 0, true);
  bits.setUint32(4, exponent >>> 0, true);
  const value = p * bits.getFloat64(0, true);
  return x < EXP.low ? 0 : value;
}

// σ(in) = 1 / (1 + e^−in), written without overflow: e^in / (1 + e^in) for in < 0; both
// share t = e^−|in| (activations.py's _logistic_s).
const logistic = (v) => {
  const t = expNonpositive(-Math.abs(v));
  return (v >= 0 ? 1 : t) / (1 + t);
};

// log(e^x + e^y) as NumPy's logaddexp.
const logaddexp = (x, y) => {
  if (x === y) return x + Math.LN2;
  const t = x - y;
  if (t > 0) return x + Math.log1p(Math.exp(-t));
  if (t <= 0) return y + Math.log1p(Math.exp(t));
  return x + y;
};

function elementwise(value, derivative) {
  return {
    value: (in_) => map(in_, value),
    // Δ = g'(in) · ∂J/∂a
    backward: (in_, a, gradA) => in_.map((row, e) => row.map(
      (v, k) => derivative(v, a[e][k]) * gradA[e][k])),
  };
}

export const ACTIVATIONS = {
  identity: elementwise((v) => v, () => 1),
  logistic: elementwise(logistic, (v, a) => a * (1 - a)),
  tanh: elementwise(Math.tanh, (v, a) => 1 - a * a),
  relu: elementwise((v) => Math.max(v, 0), (v) => (v > 0 ? 1 : 0)),
  softplus: elementwise((v) => logaddexp(0, v), (v) => logistic(v)),
  softmax: {
    // p_k = e^(in_k − max) / Σ_j e^(in_j − max)
    value: (in_) => in_.map((row) => {
      const top = Math.max(...row);
      const e = row.map((v) => expNonpositive(v - top));
      const sum = e.reduce((s, v) => s + v, 0);
      return e.map((v) => v / sum);
    }),
    // ∂a_k/∂in_j = a_k (δ_kj − a_j)  ⇒  Δ_j = a_j (grad_j − Σ_k a_k grad_k)
    backward: (in_, a, gradA) => a.map((row, e) => {
      const dot = row.reduce((s, v, k) => s + v * gradA[e][k], 0);
      return row.map((v, k) => v * (gradA[e][k] - dot));
    }),
  },
};

const sumRows = (rows) => rows.map((row) => row.reduce((s, v) => s + v, 0));

export const LOSSES = {
  // ℓ = Σ_k (y_k − a_k)², ∂ℓ/∂a_k = −2 (y_k − a_k), then through g'.
  squared_error: {
    value: (Y, a) => sumRows(a.map((row, e) => row.map((v, k) => (Y[e][k] - v) ** 2))),
    delta: (Y, a, in_, g) => ACTIVATIONS[g].backward(in_, a,
      a.map((row, e) => row.map((v, k) => -2 * (Y[e][k] - v)))),
  },
  // ℓ = −[y log a + (1 − y) log(1 − a)] from the logit: log(1 + e^in) − y in; Δ = a − y.
  log_loss: {
    value: (Y, a, in_) => sumRows(in_.map((row, e) => row.map(
      (v, k) => logaddexp(0, v) - Y[e][k] * v))),
    delta: (Y, a) => a.map((row, e) => row.map((v, k) => v - Y[e][k])),
  },
  // ℓ = −Σ_k y_k log p_k with log p_k = in_k − log Σ_j e^in_j; Δ_j = p_j Σ_k y_k − y_j.
  cross_entropy: {
    value: (Y, a, in_) => sumRows(in_.map((row, e) => {
      const top = Math.max(...row);
      const lse = top + Math.log(row.reduce((s, v) => s + Math.exp(v - top), 0));
      return row.map((v, k) => -Y[e][k] * (v - lse));
    })),
    delta: (Y, a) => a.map((row, e) => {
      const total = Y[e].reduce((s, v) => s + v, 0);
      return row.map((v, k) => v * total - Y[e][k]);
    }),
  },
};
