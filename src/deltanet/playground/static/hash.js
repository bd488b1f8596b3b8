// The whole state of the page in the URL hash, so that a link restores it in a new page.
// Server settings use the names of the server's Config; view toggles are kept apart.

export const DEFAULTS = {
  dataset: "circle", task: "classification", n_classes: 2, noise: 0, ratio: 50,
  n_samples: 500, batch_size: 10, features: ["x1", "x2"], layers: [4, 2],
  activations: ["tanh", "tanh"], loss: "squared_error", lr: 0.03, regularization: "none",
  reg_rate: 0, dropout: 0, batch_norm: false, seed: 1,
};
export const VIEW_DEFAULTS = { discretize: false, show_test: false, speed: 1 };

const LISTS = new Set(["features", "layers", "activations"]);
const NUMBERS = new Set(["n_classes", "noise", "ratio", "n_samples", "batch_size", "lr",
  "reg_rate", "dropout", "seed", "speed"]);
const FLAGS = new Set(["batch_norm", "discretize", "show_test"]);

function encodeValue(key, value) {
  if (LISTS.has(key)) return value.join(",");
  if (FLAGS.has(key)) return value ? "1" : "0";
  return String(value);
}

function decodeValue(key, text) {
  if (LISTS.has(key)) {
    const items = text === "" ? [] : text.split(",");
    return key === "layers" ? items.map(Number) : items;
  }
  if (FLAGS.has(key)) return text === "1" || text === "true";
  if (NUMBERS.has(key)) return Number(text);
  return text;
}

// "#dataset=xor&layers=4,2&..." -> { config, view } over the defaults.
export function readHash(hash) {
  const config = structuredClone(DEFAULTS);
  const view = { ...VIEW_DEFAULTS };
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  for (const [key, text] of params) {
    if (key in DEFAULTS) config[key] = decodeValue(key, text);
    else if (key in VIEW_DEFAULTS) view[key] = decodeValue(key, text);
  }
  return { config, view };
}

export function writeHash(config, view) {
  const params = new URLSearchParams();
  for (const key of Object.keys(DEFAULTS)) params.set(key, encodeValue(key, config[key]));
  for (const key of Object.keys(VIEW_DEFAULTS)) params.set(key, encodeValue(key, view[key]));
  const hash = "#" + params.toString().replaceAll("%2C", ",");
  if (location.hash !== hash) history.replaceState(null, "", hash);
}
