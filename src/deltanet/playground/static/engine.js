// The playground's engine in the page: FORWARDPROPAGATE, BACKPROPAGATE and NEURALNETTRAIN
// for a layered network, in float64, in the order of operations of deltanet's NumPy
// reference passes (deltanet/propagation.py, deltanet/training.py), so that the weights
// after any number of epochs equal deltanet's to rounding.
//
// Neurons are numbered as in the lecture: 0 is the bias unit (a_0 = 1), 1 … p the inputs,
// then the processing neurons layer by layer. For a batch of examples e:
//   forward    in_j = w_0j + Σ_i a_i w_ij          a_j = g(in_j)
//   backward   Δ_j = g'(in_j) Σ_j' w_jj' Δ_j'      (output neurons: Δ_j = ∂ℓ/∂in_j)
//   gradient   ∂J/∂w_ij = (1/|B|) Σ_e Δ_j a_i      update  w_ij ← w_ij − α ∂J/∂w_ij
// Layer l holds W[i][j] (i: neuron of layer l − 1, j: neuron of layer l, both counted from
// 0 within their layer) and the bias weights b[j] = w_0j.

import { EPOCHS, Prng, WEIGHTS } from "./prng.js";
import { ACTIVATIONS, LOSSES } from "./formulas.js";

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

const zeros = (n, k) => Array.from({ length: n }, () => new Float64Array(k));

export class Network {
  // sizes [p, n_1, …, n_K]; hidden: one activation per hidden layer; output: its activation.
  constructor(sizes, hidden, output, batchNorm = false) {
    this.sizes = sizes.slice();
    this.layers = [];
    let first = sizes[0] + 1;
    for (let l = 1; l < sizes.length; l += 1) {
      const isOutput = l === sizes.length - 1;
      const [m, k] = [sizes[l - 1], sizes[l]];
      const bn = batchNorm && !isOutput;
      this.layers.push({
        g: isOutput ? output : hidden[l - 1], isOutput, first, W: zeros(m, k),
        b: new Float64Array(k), bn,
        gamma: bn ? new Float64Array(k).fill(1) : null, beta: bn ? new Float64Array(k) : null,
        runMu: bn ? new Float64Array(k) : null, runVar: bn ? new Float64Array(k).fill(1) : null,
      });
      first += k;
    }
  }

  // Glorot uniform as deltanet.init.glorot: w_ij = U(−1, 1) · √(6 / (fan_in_j + fan_out_i)),
  // drawn layer by layer, row i by row, from the weights stream of `seed`; biases 0.
  initialize(seed) {
    const rng = new Prng(seed, WEIGHTS);
    this.layers.forEach((layer, l) => {
      // fan_in of j: the neurons of layer l; fan_out of i: the neurons of layer l + 1
      const limit = Math.sqrt(6 / (this.sizes[l] + this.sizes[l + 1]));
      layer.W.forEach((row) => {
        for (let j = 0; j < row.length; j += 1) row[j] = rng.uniform(-1, 1) * limit;
      });
    });
    return this;
  }

  // The lecture number of neuron k of layer l (layer 0: the inputs).
  neuron(l, k) { return l === 0 ? 1 + k : this.layers[l - 1].first + k; }

  // Every arc as [i, j, w_ij] in deltanet's order of net.arcs (by j, bias arc first).
  arcs() {
    const out = [];
    this.layers.forEach((layer, l) => {
      layer.b.forEach((w, k) => {
        const j = layer.first + k;
        out.push([0, j, w]);
        layer.W.forEach((row, i) => out.push([this.neuron(l, i), j, row[k]]));
      });
    });
    return out;
  }
}

// FORWARDPROPAGATE a batch X (rows of inputs). Training mode uses the batch's own statistics
// for batch normalisation and drops hidden units (rate `dropout`) with masks drawn from `rng`.
// With `biasFirst`, in_j is summed from the bias arc on, as deltanet's compiled per-example
// engine sums it; otherwise Σ_i a_i w_ij comes first, as in its batch passes.
export function forward(net, X, { training = false, dropout = 0, rng = null,
  biasFirst = false } = {}) {
  const cache = { in_: [null], a: [X], out: [X], drop: [], bn: [], training };
  net.layers.forEach((layer, l) => {
    const src = cache.out[l];
    const g = ACTIVATIONS[layer.g];
    const in_ = src.map((a) => layer.b.map((w0j, j) => {
      if (biasFirst) {                              // w_0j + a_1 w_1j + a_2 w_2j + ...
        let s = w0j;
        for (let i = 0; i < a.length; i += 1) s += a[i] * layer.W[i][j];
        return s;
      }
      let s = 0;                                    // Σ_i a_i w_ij, then the bias arc
      for (let i = 0; i < a.length; i += 1) s += a[i] * layer.W[i][j];
      return w0j + s;
    }));
    const a = g.value(in_);
    let out = a;
    if (layer.bn) out = bnForward(cache, layer, l, a, training);
    if (training && dropout > 0 && !layer.isOutput) {
      // Dropout: keep each unit with probability 1 − rate, survivors scaled by 1/(1 − rate).
      const keep = out.map((row) => row.map(
        () => (rng.random() >= dropout ? 1 : 0) / (1 - dropout)));
      cache.drop[l + 1] = keep;
      out = out.map((row, e) => row.map((v, k) => v * keep[e][k]));
    }
    cache.in_.push(in_);
    cache.a.push(a);
    cache.out.push(out);
  });
  return cache;
}

const columnMean = (rows) => {
  const sum = new Float64Array(rows[0].length);
  rows.forEach((row) => row.forEach((v, k) => { sum[k] += v; }));
  return sum.map((v) => v / rows.length);
};

// Batch normalisation: â = γ (a − μ) / √(σ² + ε) + β, μ and σ² of this batch in training.
function bnForward(cache, layer, l, a, training) {
  let mu = layer.runMu;
  let variance = layer.runVar;
  if (training) {
    mu = columnMean(a);
    variance = columnMean(a.map((row) => row.map((v, k) => (v - mu[k]) * (v - mu[k]))));
  }
  const invStd = variance.map((v) => 1 / Math.sqrt(v + BN_EPS));
  const xHat = a.map((row) => row.map((v, k) => (v - mu[k]) * invStd[k]));
  cache.bn[l + 1] = { xHat, invStd, mu, variance };
  return xHat.map((row) => row.map((v, k) => layer.gamma[k] * v + layer.beta[k]));
}

// BACKPROPAGATE: Δ of every layer, the gradient (layer by layer: gW, gb, gGamma, gBeta, each
// the mean over the batch) and the loss ℓ_e of each example.
export function backward(net, cache, Y, lossName) {
  const loss = LOSSES[lossName];
  const n = Y.length;
  const L = net.layers.length;
  const grads = [];
  const deltas = [];
  let upstream = null;                              // ∂(nJ)/∂out of the layer below
  let perExample = null;
  for (let l = L; l >= 1; l -= 1) {
    const layer = net.layers[l - 1];
    const g = ACTIVATIONS[layer.g];
    const [in_, a] = [cache.in_[l], cache.a[l]];
    const grad = { W: zeros(layer.W.length, layer.b.length), b: new Float64Array(layer.b.length) };
    let delta;
    if (layer.isOutput) {
      perExample = loss.value(Y, a, in_, layer.g);
      delta = loss.delta(Y, a, in_, layer.g);
    } else {
      let dOut = upstream;
      if (cache.drop[l]) dOut = dOut.map((row, e) => row.map((v, k) => v * cache.drop[l][e][k]));
      if (layer.bn) dOut = bnBackward(cache.bn[l], layer, grad, dOut, cache.training);
      delta = g.backward(in_, a, dOut);             // Δ_j = g'(in_j) · Σ_j' w_jj' Δ_j'
    }
    deltas[l] = delta;
    delta.forEach((row) => row.forEach((d, k) => { grad.b[k] += d; }));
    const src = cache.out[l - 1];
    grad.W.forEach((row, i) => {
      for (let j = 0; j < row.length; j += 1) {
        let s = 0;                                  // Σ_e a_i Δ_j
        for (let e = 0; e < n; e += 1) s += src[e][i] * delta[e][j];
        row[j] = s;
      }
    });
    if (l > 1) {
      upstream = delta.map((row) => layer.W.map((wi) => {
        let s = 0;                                  // Σ_j' w_jj' Δ_j'
        for (let j = 0; j < row.length; j += 1) s += row[j] * wi[j];
        return s;
      }));
    }
    grads[l - 1] = grad;
  }
  grads.forEach((grad) => {
    grad.W.forEach((row) => row.forEach((v, j) => { row[j] = v / n; }));
    grad.b.forEach((v, k) => { grad.b[k] = v / n; });
    if (grad.gamma) grad.gamma.forEach((v, k) => { grad.gamma[k] = v / n; grad.beta[k] /= n; });
  });
  return { grads, deltas, perExample };
}

// ∂/∂γ = Σ_e ∂J/∂â · x̂, ∂/∂β = Σ_e ∂J/∂â, and ∂J/∂a through the batch statistics.
function bnBackward(bn, layer, grad, dOut, training) {
  const k = layer.b.length;
  const m = dOut.length;
  grad.gamma = new Float64Array(k);
  grad.beta = new Float64Array(k);
  dOut.forEach((row, e) => row.forEach((v, c) => {
    grad.gamma[c] += v * bn.xHat[e][c];
    grad.beta[c] += v;
  }));
  const dX = dOut.map((row) => row.map((v, c) => v * layer.gamma[c]));
  // running statistics (prediction mode): a fixed affine map
  if (!training) return dX.map((row) => row.map((v, c) => v * bn.invStd[c]));
  const sum = new Float64Array(k);
  const dot = new Float64Array(k);
  dX.forEach((row, e) => row.forEach((v, c) => { sum[c] += v; dot[c] += v * bn.xHat[e][c]; }));
  return dX.map((row, e) => row.map((v, c) => (bn.invStd[c] / m)
    * (m * v - sum[c] - bn.xHat[e][c] * dot[c])));
}

// Weight decay λ Σ w² (gradient 2λw) and L1 λ₁ Σ |w| (gradient λ₁ sign(w)), on the weights
// of arcs from neurons (never the bias arcs, γ or β).
export function regularize(net, grads, l2, l1) {
  if (!l2 && !l1) return 0;
  let squares = 0;
  let absolute = 0;
  net.layers.forEach((layer, l) => layer.W.forEach((row, i) => row.forEach((w, j) => {
    squares += w * w;
    absolute += Math.abs(w);
    grads[l].W[i][j] += 2 * l2 * w + l1 * Math.sign(w);
  })));
  return l2 * squares + l1 * absolute;
}

// w ← w − α ∂J/∂w for every parameter.
export function applyUpdate(net, grads, lr) {
  net.layers.forEach((layer, l) => {
    const grad = grads[l];
    layer.W.forEach((row, i) => row.forEach((w, j) => { row[j] = w + grad.W[i][j] * -lr; }));
    layer.b.forEach((w, k) => { layer.b[k] = w + grad.b[k] * -lr; });
    if (layer.bn) {
      layer.gamma.forEach((w, k) => { layer.gamma[k] = w + grad.gamma[k] * -lr; });
      layer.beta.forEach((w, k) => { layer.beta[k] = w + grad.beta[k] * -lr; });
    }
  });
}

// Running statistics for prediction:
//   μ ← (1 − m) μ + m μ_B        σ² ← (1 − m) σ² + m σ²_B |B|/(|B| − 1)
function updateBnStats(net, cache, size) {
  net.layers.forEach((layer, l) => {
    const bn = cache.bn[l + 1];
    if (!bn) return;
    layer.runMu.forEach((v, k) => {
      layer.runMu[k] = v * (1 - BN_MOMENTUM) + BN_MOMENTUM * bn.mu[k];
    });
    layer.runVar.forEach((v, k) => {
      layer.runVar[k] = v * (1 - BN_MOMENTUM)
        + BN_MOMENTUM * bn.variance[k] * (size / Math.max(size - 1, 1));
    });
  });
}

// One epoch of NEURALNETTRAIN: the permutation of epoch `epoch`'s stream, then one update
// per batch (forward, backward, penalty, update). Returns the mean cost of the epoch.
export function trainEpoch(net, X, Y, settings, epoch) {
  const { lr, batchSize, loss, l2 = 0, l1 = 0, dropout = 0, seed } = settings;
  const rng = new Prng(seed, EPOCHS + epoch);
  const order = rng.permutation(X.length);
  let total = 0;
  for (let start = 0; start < X.length; start += batchSize) {
    const idx = order.slice(start, start + batchSize);
    const cache = forward(net, idx.map((e) => X[e]), { training: true, dropout, rng,
      biasFirst: batchSize === 1 && !(dropout > 0) }); // per-example SGD: the compiled engine
    const { grads, perExample } = backward(net, cache, idx.map((e) => Y[e]), loss);
    const penalty = regularize(net, grads, l2, l1);
    const cost = perExample.reduce((s, v) => s + v, 0) / idx.length + penalty;
    if (!Number.isFinite(cost)) {
      throw new Error(`the cost became ${cost} in epoch ${epoch + 1}; lower the learning rate`);
    }
    updateBnStats(net, cache, idx.length);
    applyUpdate(net, grads, lr);
    total += cost * idx.length;
  }
  return total / X.length;
}

// The mean loss J over (X, Y) in prediction mode (running batch statistics, no dropout).
export function meanLoss(net, X, Y, lossName) {
  if (X.length === 0) return NaN;
  const { perExample } = backward(net, forward(net, X), Y, lossName);
  return perExample.reduce((s, v) => s + v, 0) / X.length;
}

// The outputs a_j of the output neurons for each row of X (prediction mode).
export function predict(net, X) {
  const cache = forward(net, X);
  return cache.a[cache.a.length - 1];
}
