// The state of the page in the URL hash, so that a link restores it in a new page.
// Server settings use the names of the server's Config; view toggles are kept apart, and a
// lesson link adds `hide` (controls to hide), `w` (the weights) and `data` (an uploaded
// data set), see lesson.js.

export const DEFAULTS = {
  dataset: "circle", task: "classification", n_classes: 2, noise: 0, ratio: 50,
  n_samples: 500, batch_size: 10, features: ["x1", "x2"], layers: [4, 2],
  activations: ["tanh", "tanh"], loss: "squared_error", lr: 0.03, regularization: "none",
  reg_rate: 0, dropout: 0, batch_norm: false, seed: 1,
};
export const VIEW_DEFAULTS = { discretize: false, show_test: false, speed: 1 };
export const LESSON_KEYS = ["hide", "w", "data"];

const LISTS = new Set(["features", "layers", "activations"]);
const NUMBERS = new Set(["n_classes", "noise", "ratio", "n_samples", "batch_size", "lr",
  "reg_rate", "dropout", "seed", "speed"]);
const FLAGS = new Set(["batch_norm", "discretize", "show_test"]);

function encodeValue(key, value) {
  if (LISTS.has(key)) return value.join(",");
  if (FLAGS.has(key)) return value ? "1" : "0";
  return String(value);
}

// The value of `key` in `text`, or undefined when it cannot be one.
function decodeValue(key, text) {
  if (LISTS.has(key)) {
    const items = text === "" ? [] : text.split(",");
    if (key !== "layers") return items;
    const sizes = items.map(Number);
    return sizes.every(Number.isInteger) ? sizes : undefined;
  }
  if (FLAGS.has(key)) return ["1", "true", "0", "false"].includes(text) ? text === "1"
    || text === "true" : undefined;
  if (NUMBERS.has(key)) {
    const value = Number(text);
    return text.trim() !== "" && Number.isFinite(value) ? value : undefined;
  }
  return text;
}

// "#dataset=xor&layers=4,2&..." -> { config, view, lesson, bad } over the defaults;
// `bad` lists the [key, text] pairs that could not be read (the rest still apply).
export function readHash(hash) {
  const config = structuredClone(DEFAULTS);
  const view = { ...VIEW_DEFAULTS };
  const lesson = { hide: [], w: null, data: null };
  const bad = [];
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  for (const [key, text] of params) {
    if (key === "hide") lesson.hide = text.split(",").filter(Boolean);
    else if (LESSON_KEYS.includes(key)) lesson[key] = text;
    else if (key in DEFAULTS || key in VIEW_DEFAULTS) {
      const value = decodeValue(key, text);
      if (value === undefined) bad.push([key, text]);
      else (key in DEFAULTS ? config : view)[key] = value;
    } else {
      bad.push([key, text]);
    }
  }
  return { config, view, lesson, bad };
}

// The hash of the settings, the view and the lesson parts that are given.
export function hashOf(config, view, lesson = {}) {
  const params = new URLSearchParams();
  for (const key of Object.keys(DEFAULTS)) params.set(key, encodeValue(key, config[key]));
  for (const key of Object.keys(VIEW_DEFAULTS)) params.set(key, encodeValue(key, view[key]));
  if (lesson.hide && lesson.hide.length) params.set("hide", lesson.hide.join(","));
  for (const key of ["w", "data"]) if (lesson[key]) params.set(key, lesson[key]);
  return "#" + params.toString().replaceAll("%2C", ",");
}

export function writeHash(config, view, lesson) {
  const hash = hashOf(config, view, lesson);
  if (location.hash !== hash) history.replaceState(null, "", hash);
  return hash;
}
