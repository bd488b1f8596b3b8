// The settings checked in the page as deltanet/playground/config.py checks them on the
// server: the same names, bounds and consistency rules, one message per refusal.

import { FEATURES } from "./data.js";

export const HIDDEN_ACTIVATIONS = ["tanh", "relu", "logistic", "softplus", "identity"];
const CLASSIFICATION = ["circle", "xor", "gauss", "spiral"];
const REGRESSION = ["plane", "reg-gauss"];
const CHOICES = {
  dataset: [...CLASSIFICATION, ...REGRESSION, "upload"], task: ["classification", "regression"],
  loss: ["cross_entropy", "squared_error"], regularization: ["none", "l1", "l2"],
};
const BOUNDS = {
  n_classes: [2, 8], noise: [0, 50], ratio: [10, 90], n_samples: [20, 2000], batch_size: [1, 100],
  lr: [0, 10], reg_rate: [0, 10], dropout: [0, 0.9], seed: [0, 2 ** 31 - 1],
};
const INTEGERS = new Set(["n_classes", "noise", "ratio", "n_samples", "batch_size", "seed"]);

function checkField(key, v) {
  if (key in BOUNDS) {
    const [low, high] = BOUNDS[key];
    const ok = typeof v === "number" && Number.isFinite(v) && v >= low && v <= high
      && (!INTEGERS.has(key) || Number.isInteger(v)) && !(key === "lr" && v === 0);
    const kind = INTEGERS.has(key) ? "a whole number" : "a number";
    const above = key === "lr" ? " above 0" : "";
    return ok ? null : `${key} must be ${kind} in [${low}, ${high}]${above} (got ${v})`;
  }
  if (key in CHOICES) {
    return CHOICES[key].includes(v) ? null
      : `${key} must be one of ${CHOICES[key].join(", ")} (got ${v})`;
  }
  if (key === "batch_norm") {
    return typeof v === "boolean" ? null : `batch_norm must be true or false (got ${v})`;
  }
  if (key === "features") {
    return Array.isArray(v) && v.length >= 1 && v.every((f) => FEATURES.includes(f))
      && new Set(v).size === v.length
      ? null : `features must list 1 to 7 of ${FEATURES.join(", ")}, each once (got ${v})`;
  }
  if (key === "layers") {
    return Array.isArray(v) && v.length <= 6
      && v.every((n) => Number.isInteger(n) && n >= 1 && n <= 8)
      ? null : `layers must be 0 to 6 layers of 1 to 8 neurons (got ${v})`;
  }
  if (key === "activations") {
    return Array.isArray(v) && v.every((a) => HIDDEN_ACTIVATIONS.includes(a))
      ? null : `each activation must be one of ${HIDDEN_ACTIVATIONS.join(", ")} (got ${v})`;
  }
  return `unknown setting '${key}'`;
}

// The settings `body` gives over `base`, or the message that refuses them.
export function checkConfig(body, base) {
  for (const [key, value] of Object.entries(body)) {
    const wrong = checkField(key, value);
    if (wrong) return { error: wrong };
  }
  const config = { ...base, ...body };
  if (body.features) config.features = FEATURES.filter((f) => body.features.includes(f));
  if (body.layers && !body.activations) {
    const acts = config.activations.slice(0, config.layers.length);
    while (acts.length < config.layers.length) acts.push(acts.at(-1) || "tanh");
    config.activations = acts;
  }
  const refuse = (error) => ({ error });
  if (config.activations.length !== config.layers.length) {
    return refuse("give one activation per hidden layer");
  }
  if (CLASSIFICATION.includes(config.dataset) && config.task !== "classification") {
    return refuse(`data set '${config.dataset}' is a classification set; `
      + "set task to 'classification'");
  }
  if (REGRESSION.includes(config.dataset) && config.task !== "regression") {
    return refuse(`data set '${config.dataset}' is a regression set; set task to 'regression'`);
  }
  if (config.task === "regression" && config.loss !== "squared_error") {
    return refuse("regression trains with the squared error; set loss to 'squared_error'");
  }
  if (config.batch_norm && config.batch_size < 2) {
    return refuse("batch normalisation needs batches of at least 2 examples; raise the batch "
      + "size or turn batch norm off");
  }
  return { config };
}
