// The playground's data sets, drawn as deltanet.data.generators draws them (same formulas,
// same order of draws from the generator of prng.js), then split as the Python session does.
// Points are [x1, x2] pairs in the square [-6, 6]²; labels are class numbers or values.

import { DATA, Prng } from "./prng.js";

export const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const FEATURE = {
  x1: (p) => p[0], x2: (p) => p[1], "x1^2": (p) => p[0] * p[0], "x2^2": (p) => p[1] * p[1],
  "x1*x2": (p) => p[0] * p[1], "sin(x1)": (p) => Math.sin(p[0]), "sin(x2)": (p) => Math.sin(p[1]),
};

// Sizes that differ by at most one: n // K + (k < n % K).
const counts = (n, k) => Array.from({ length: k },
  (_, c) => Math.floor(n / k) + (c < n % k ? 1 : 0));
// n points [x1, x2], each coordinate uniform in [low, high), drawn x1 then x2.
const pairs = (rng, n, low, high) => Array.from({ length: n },
  () => [rng.uniform(low, high), rng.uniform(low, high)]);

function shuffled(X, y, rng) {
  const order = rng.permutation(X.length);
  return [order.map((i) => X[i]), order.map((i) => y[i])];
}

function xor(n, noise, k, rng) {
  const X = pairs(rng, n, -5, 5).map((p) => p.map((v) => v + (v > 0 ? 0.3 : -0.3)));
  const shift = pairs(rng, n, -5, 5);
  const y = X.map((p, e) => {
    const m = [p[0] + shift[e][0] * noise, p[1] + shift[e][1] * noise];
    if (k === 2) return m[0] * m[1] >= 0 ? 1 : 0;
    const cell = m.map((v) => Math.min(Math.max(Math.floor(((v + 5.3) / 10.6) * k), 0), k - 1));
    return (cell[0] + cell[1]) % k;
  });
  return shuffled(X, y, rng);
}

function circle(n, noise, k, rng) {
  const width = 5 / k;
  const sizes = counts(n, k);
  const r = [];
  for (let band = 0; band < k; band += 1) {
    const low = band * width + (band > 0 ? 0.4 * width : 0);
    for (let e = 0; e < sizes[k - 1 - band]; e += 1) r.push(rng.uniform(low, (band + 1) * width));
  }
  const angle = r.map(() => rng.uniform(0, 2 * Math.PI));
  const X = r.map((rad, e) => [rad * Math.sin(angle[e]), rad * Math.cos(angle[e])]);
  const shift = pairs(rng, n, -5, 5);
  const y = X.map((p, e) => {
    const m = [p[0] + shift[e][0] * noise, p[1] + shift[e][1] * noise];
    return k - 1 - Math.min(Math.floor(Math.hypot(m[0], m[1]) / width), k - 1);
  });
  return shuffled(X, y, rng);
}

function gauss(n, noise, k, rng) {
  const centers = k === 2 ? [[-2, -2], [2, 2]] : Array.from({ length: k }, (_, c) => {
    const angle = (2 * Math.PI * c) / k;
    return [3 * Math.cos(angle), 3 * Math.sin(angle)];
  });
  const y = counts(n, k).flatMap((m, c) => Array(m).fill(c));
  const sd = Math.sqrt(0.5 + 7 * noise);
  const X = y.map((c) => [centers[c][0] + rng.normal(0, sd), centers[c][1] + rng.normal(0, sd)]);
  return shuffled(X, y, rng);
}

function spiral(n, noise, k, rng) {
  const X = [];
  const y = [];
  counts(n, k).forEach((m, label) => {
    for (let i = 0; i < m; i += 1) {
      const frac = i / m;
      const r = 5 * frac;
      const t = 1.75 * frac * 2 * Math.PI + (2 * Math.PI * label) / k;
      X.push([r * Math.sin(t), r * Math.cos(t)]);
      y.push(k === 2 ? 1 - label : label);   // phase 0 is TensorFlow Playground's blue class
    }
  });
  const shift = pairs(rng, n, -1, 1);
  const moved = X.map((p, e) => [p[0] + shift[e][0] * noise, p[1] + shift[e][1] * noise]);
  return shuffled(moved, y, rng);
}

const BUMPS = [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
  [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]];

function regression(label) {
  return (n, noise, k, rng) => {
    const X = pairs(rng, n, -6, 6);
    const shift = pairs(rng, n, -6, 6);
    const y = X.map((p, e) => label([p[0] + shift[e][0] * noise, p[1] + shift[e][1] * noise]));
    return shuffled(X, y, rng);
  };
}

const plane = regression((m) => (m[0] + m[1]) / 10);
const bumps = regression((m) => BUMPS.reduce((y, [cx, cy, sign]) => {
  const bump = sign * Math.min(Math.max(1 - Math.hypot(m[0] - cx, m[1] - cy) / 2, 0), 1);
  return Math.abs(bump) > Math.abs(y) ? bump : y;
}, 0));

const GENERATORS = { circle, xor, gauss, spiral, plane, "reg-gauss": bumps };

// Python's round(): halves to the even neighbour.
function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// The session's points: generated (or uploaded X, y) then shuffled and split with the
// data stream of `seed`, as sessions.Session._make_data.
export function makeData(config, upload = null) {
  const rng = new Prng(config.seed, DATA);
  let X;
  let y;
  if (config.dataset === "upload" && upload) [X, y] = [upload.X, upload.y];
  else {
    [X, y] = GENERATORS[config.dataset](config.n_samples, config.noise / 100,
      config.n_classes, rng);
  }
  const order = rng.permutation(X.length);
  const share = roundHalfEven(X.length * (config.ratio / 100));
  const nTrain = Math.min(Math.max(1, share), X.length - 1);
  const pick = (idx) => [idx.map((i) => X[i]), idx.map((i) => y[i])];
  const [xTrain, yTrain] = pick(order.slice(0, nTrain));
  const [xTest, yTest] = pick(order.slice(nTrain));
  return { xTrain, yTrain, xTest, yTest };
}

// The network's inputs: the chosen features of each point, in FEATURES order.
export function features(points, names) {
  const chosen = FEATURES.filter((name) => names.includes(name));
  return points.map((p) => chosen.map((name) => FEATURE[name](p)));
}
