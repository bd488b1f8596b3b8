// The playground API answered in the page: the same requests and answers as the server's
// JSON API (deltanet/playground/server.py, views.py, backward.py), computed by the page's
// own engine (engine.js). The static export uses it; nothing leaves the page.

import { features } from "./data.js";
import { applyUpdate, backward, forward, meanLoss, regularize } from "./engine.js";
import { ACTIVATIONS } from "./formulas.js";
import { LocalSession } from "./local-session.js";
import { modelFile } from "./model-file.js";
import { parseCsv } from "./csv.js";
import { checkConfig } from "./local-config.js";

const NEURON_GRID = 24;
const OUTPUT_GRID = 60;
const DOMAIN = 6;
const DATA_FIELDS = ["dataset", "noise", "ratio", "n_samples", "n_classes", "seed"];
const NET_FIELDS = ["task", "features", "layers", "activations", "loss", "batch_norm"];
export const DEFAULT_CONFIG = {
  dataset: "circle", task: "classification", n_classes: 2, noise: 0, ratio: 50,
  n_samples: 500, batch_size: 10, features: ["x1", "x2"], layers: [4, 2],
  activations: ["tanh", "tanh"], loss: "squared_error", lr: 0.03, regularization: "none",
  reg_rate: 0, dropout: 0, batch_norm: false, seed: 1,
};

export class LocalApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Cell centres of a size × size grid over [-6, 6]², row-major from the top.
function grid(size) {
  const c = Array.from({ length: size }, (_, k) => ((k + 0.5) / size) * 2 * DOMAIN - DOMAIN);
  return c.slice().reverse().flatMap((x2) => c.map((x1) => [x1, x2]));
}

// Bytes 0..255 over [lo, hi] (their own range unless given), base64.
function encode(values, lo = null, hi = null) {
  const v = values.map((x) => {
    if (Number.isFinite(x)) return x;
    return Number.isNaN(x) ? 0 : Math.sign(x) * 1e300;
  });
  const low = lo === null ? Math.min(...v) : lo;
  const high = hi === null ? Math.max(...v) : hi;
  const span = high > low ? high - low : 1;
  const bytes = v.map((x) => Math.min(255, Math.max(0, Math.round(((x - low) / span) * 255))));
  return { lo: low, hi: high, data: btoa(String.fromCharCode(...bytes)) };
}

const finite = (v) => (Number.isFinite(v) ? v : null);
const round4 = (v) => Math.round(v * 1e4) / 1e4;

export class LocalApi {
  constructor(getConfig) {
    this.getConfig = getConfig;
    this.dataVersion = null;
    this.session = new LocalSession({ ...DEFAULT_CONFIG });
  }

  async checkSession() {}

  state(sendPoints = true) {
    const s = this.session;
    const net = s.net;
    const last = s.history[s.history.length - 1];
    const columns = [s.config.features.map((name, k) => ({
      id: k + 1, label: name, kind: "input" }))];
    net.layers.forEach((layer) => columns.push(Array.from(layer.b, (_, k) => ({
      id: layer.first + k, label: String(layer.first + k),
      kind: layer.isOutput ? "output" : "hidden",
      activation: layer.g,
    }))));
    const X = s.inputs(grid(NEURON_GRID));
    const cache = forward(net, X);
    const neurons = {};
    s.config.features.forEach((_, k) => { neurons[k + 1] = encode(X.map((row) => row[k])); });
    net.layers.forEach((layer, l) => {
      const fixed = ["logistic", "softmax"].includes(layer.g) ? [0, 1] : [null, null];
      layer.b.forEach((_, k) => {
        neurons[layer.first + k] = encode(cache.a[l + 1].map((row) => row[k]), ...fixed);
      });
    });
    const out = forward(net, s.inputs(grid(OUTPUT_GRID))).a.at(-1);
    const fixed = s.config.task === "classification" ? [0, 1] : [null, null];
    const state = {
      session: "local", epoch: s.epoch, config: { ...s.config }, loss_name: s.lossName,
      loss: { train: finite(last[1]), test: finite(last[2]) },
      history: thin(s.history).map(([e, tr, te]) => [e, finite(tr), finite(te)]),
      network: { columns, edges: net.arcs(), batch_norm: s.config.batch_norm },
      heatmaps: { size: NEURON_GRID, neurons },
      output: { size: OUTPUT_GRID,
        maps: Array.from(out[0], (_, k) => encode(out.map((row) => row[k]), ...fixed)) },
      data_version: s.dataVersion,
      classes: (s.config.dataset === "upload" && s.upload?.preprocessing.classes) || null,
    };
    if (sendPoints || this.dataVersion !== s.dataVersion) {
      const rows = (X2, y) => X2.map((p, e) => [round4(p[0]), round4(p[1]),
        s.config.task === "classification" ? y[e] : round4(y[e])]);
      state.points = { train: rows(s.xTrain, s.yTrain), test: rows(s.xTest, s.yTest) };
      this.dataVersion = s.dataVersion;
    }
    return state;
  }

  async configure(body) {
    const s = this.session;
    const { config, error } = checkConfig(body, s.config);
    if (error) throw new LocalApiError(422, error);
    if (config.dataset === "upload" && !s.upload) {
      throw new LocalApiError(422, "this page has no uploaded data; "
        + "upload a CSV of x1,x2,label first");
    }
    const changed = (names) => names.some(
      (k) => JSON.stringify(config[k]) !== JSON.stringify(s.config[k]));
    const dataChanged = changed(DATA_FIELDS);
    const netChanged = dataChanged || changed(NET_FIELDS);
    s.config = config;
    if (dataChanged) s.makeData();
    if (netChanged) s.makeNet();
    return this.state(false);
  }

  async step(epochs) {
    try {
      this.session.train(epochs, 0.25);
    } catch (err) {
      throw new LocalApiError(422, `training stopped at epoch ${this.session.epoch + 1}: `
        + `${err.message}; press reset to start again`);
    }
    return this.state(false);
  }

  async reset() { this.session.reset(); return this.state(false); }

  async setWeight(i, j, value) {
    const edges = this.session.net.arcs();
    return this.setWeights(edges.map(([a, b, w]) => [a, b, a === i && b === j ? value : w]));
  }

  async setWeights(edges) {
    const net = this.session.net;
    const index = new Map(edges.map(([i, j, w]) => [`${i},${j}`, w]));
    net.layers.forEach((layer, l) => layer.b.forEach((_, k) => {
      const j = layer.first + k;
      if (index.has(`0,${j}`)) layer.b[k] = index.get(`0,${j}`);
      layer.W.forEach((row, i) => {
        const key = `${net.neuron(l, i)},${j}`;
        if (index.has(key)) row[k] = index.get(key);
      });
    }));
    this.session.history.push([this.session.epoch, ...this.session.losses()]);
    return this.state(false);
  }

  async upload(text) {
    let upload;
    try {
      upload = parseCsv(text, 2000);
    } catch (err) {
      throw new LocalApiError(422, err.message);
    }
    const s = this.session;
    const nClasses = upload.task === "classification" ? Math.max(...upload.y) + 1
      : s.config.n_classes;
    s.upload = upload;
    s.config = { ...s.config, dataset: "upload", task: upload.task, n_classes: nClasses,
      loss: upload.task === "regression" ? "squared_error" : s.config.loss };
    s.makeData();
    s.makeNet();
    return this.state(true);
  }

  async backward(x, y) { return backwardView(this.session, x, y); }

  // The model file as a Blob and its file name, as the server's Api gives it.
  async modelFile() {
    const blob = new Blob([modelFile(this.session)], { type: "application/zip" });
    return { blob, name: `playground-${this.session.config.dataset}.deltanet` };
  }

  describe(err) {
    const text = String(err && err.message ? err.message : err).trim();
    const first = text.charAt(0).toUpperCase() + text.slice(1);
    return /[.!?]$/.test(first) ? first : `${first}.`;
  }
}

function thin(rows, most = 400) {
  if (rows.length <= most) return rows;
  const pick = new Set(Array.from({ length: most },
    (_, k) => Math.floor((k * (rows.length - 1)) / (most - 1))));
  return [...pick].map((k) => rows[k]);
}

// Every number of one training step on the point x with label y (inference mode), as
// backward.py's backward_view: in_j, a_j, Δ_j, g'(in_j) per neuron; w_ij, a_i, Δ_j a_i,
// the penalty term and the updated weight per arc; J before and after the update.
function backwardView(s, x, y) {
  const net = s.net;
  const c = s.config;
  const input = features([x], c.features);
  const target = s.targets([y]);
  const cache = forward(net, input);
  const { grads, deltas } = backward(net, cache, target, s.lossName);
  const plain = grads.map((g) => ({ W: g.W.map((r) => Float64Array.from(r)) }));
  const l2 = c.regularization === "l2" ? c.reg_rate : 0;
  const l1 = c.regularization === "l1" ? c.reg_rate : 0;
  regularize(net, grads, l2, l1);
  const before = net.arcs();
  const copy = Object.assign(Object.create(Object.getPrototypeOf(net)), structuredClone(net));
  applyUpdate(copy, grads, c.lr);
  const after = copy.arcs();
  const neurons = {};
  c.features.forEach((_, k) => { neurons[k + 1] = { a: input[0][k] }; });
  net.layers.forEach((layer, l) => layer.b.forEach((_, k) => {
    const j = layer.first + k;
    const inj = cache.in_[l + 1][0][k];
    const aj = cache.a[l + 1][0][k];
    const gPrime = ACTIVATIONS[layer.g].backward([[inj]], [[aj]], [[1]])[0][0];
    neurons[j] = { in: inj, a: aj, delta: deltas[l + 1][0][k], g_prime: gPrime,
      activation: layer.g, out: cache.out[l + 1][0][k],
      bn_scale: layer.bn ? layer.gamma[k] / Math.sqrt(layer.runVar[k] + 1e-5) : null };
  }));
  const source = (i) => (i <= c.features.length ? input[0][i - 1] : neurons[i].out);
  const edges = before.map(([i, j, w], n) => {
    const l = net.layers.findIndex((layer) => j >= layer.first && j < layer.first + layer.b.length);
    const k = j - net.layers[l].first;
    const row = i === 0 ? null : i - (l === 0 ? 1 : net.layers[l - 1].first);
    const grad = i === 0 ? grads[l].b[k] : plain[l].W[row][k];
    const full = i === 0 ? grads[l].b[k] : grads[l].W[row][k];
    return { i, j, w, a_i: i === 0 ? 1 : source(i), delta_j: deltas[l + 1][0][k], grad,
      reg: full - grad, new_w: after[n][2] };
  });
  const outputs = cache.a.at(-1)[0];
  const outLayer = net.layers.at(-1);
  return {
    x, y, inputs: input[0], target: target[0], outputs: Array.from(outputs),
    output_ids: Array.from(outLayer.b, (_, k) => outLayer.first + k),
    loss: meanLoss(net, input, target, s.lossName), loss_name: s.lossName,
    loss_after: meanLoss(copy, input, target, s.lossName), lr: c.lr,
    penalty: { name: l2 ? "l2" : (l1 ? "l1" : null), lambda: l2 || l1 || 0 },
    features: c.features.slice(), neurons, edges,
  };
}
