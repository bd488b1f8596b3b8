// One playground run held in the page, as deltanet/playground/sessions.py's Session holds it
// on the server: the settings, the points split into training and test parts, the network
// built from the settings and the loss history after every epoch.

import { features, makeData } from "./data.js";
import { Network, meanLoss, trainEpoch } from "./engine.js";

export const MAX_HISTORY = 4000;

export class LocalSession {
  constructor(config, upload = null) {
    this.config = config;
    this.upload = upload;
    this.dataVersion = 0;
    this.makeData();
    this.makeNet();
  }

  makeData() {
    Object.assign(this, makeData(this.config, this.upload));
    this.dataVersion += 1;
  }

  get nOutputs() {
    const c = this.config;
    return c.task === "classification" && c.n_classes > 2 ? c.n_classes : 1;
  }

  // The deltanet loss: log loss / cross-entropy for classification, or squared error.
  get lossName() {
    if (this.config.loss === "squared_error") return "squared_error";
    return this.nOutputs === 1 ? "log_loss" : "cross_entropy";
  }

  makeNet() {
    const c = this.config;
    let output = this.nOutputs === 1 ? "logistic" : "softmax";
    if (c.task === "regression") output = "identity";
    const sizes = [c.features.length, ...c.layers, this.nOutputs];
    this.net = new Network(sizes, c.activations, output, c.batch_norm).initialize(c.seed);
    this.epoch = 0;
    this.history = [];
    this.record();
  }

  inputs(points) { return features(points, this.config.features); }

  // Targets: 0/1, one-hot rows, or regression values.
  targets(y) {
    const K = this.nOutputs;
    if (K > 1) return y.map((c) => Array.from({ length: K }, (_, k) => (k === c ? 1 : 0)));
    return y.map((v) => [v]);
  }

  losses() {
    const cost = (X, y) => meanLoss(this.net, this.inputs(X), this.targets(y), this.lossName);
    return [cost(this.xTrain, this.yTrain), cost(this.xTest, this.yTest)];
  }

  record() {
    this.history.push([this.epoch, ...this.losses()]);
    if (this.history.length > MAX_HISTORY) {
      // Keep the first and the latest point; thin the rest to every other epoch.
      const h = this.history;
      this.history = [h[0], ...h.slice(2, -1).filter((_, i) => i % 2 === 0), h[h.length - 1]];
    }
  }

  // `epochs` epochs of mini-batch gradient descent, fewer if they take over `seconds`.
  train(epochs, seconds = Infinity) {
    const deadline = performance.now() + seconds * 1000;
    const c = this.config;
    let X = this.inputs(this.xTrain);
    let Y = this.targets(this.yTrain);
    if (c.batch_norm && X.length % c.batch_size === 1) {
      // Batch normalisation cannot use a last batch of one example: leave one out.
      [X, Y] = [X.slice(0, -1), Y.slice(0, -1)];
    }
    const settings = {
      lr: c.lr, batchSize: c.batch_size, loss: this.lossName, dropout: c.dropout,
      l2: c.regularization === "l2" ? c.reg_rate : 0,
      l1: c.regularization === "l1" ? c.reg_rate : 0,
      seed: c.seed,
    };
    for (let n = 0; n < epochs; n += 1) {
      trainEpoch(this.net, X, Y, settings, this.epoch);
      this.epoch += 1;
      this.record();
      if (performance.now() >= deadline) break;
    }
  }

  reset() { this.makeNet(); }
}
