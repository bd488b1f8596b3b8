// Colours, heatmaps, data points and the loss chart, drawn on canvases.
// Values in [-1, 1] run from orange (-1, class 0) through white to blue (+1, class 1),
// as in TensorFlow Playground; further classes get their own colours.

export const DOMAIN = 6;
export const CLASS_COLORS = ["#f59322", "#0877bd", "#2ca02c", "#9467bd", "#d62728",
  "#8c564b", "#e377c2", "#bcbd22"];
const NEG = [245, 147, 34], POS = [8, 119, 189];
export const MID = [232, 234, 235];

function hexRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
export const CLASS_RGB = CLASS_COLORS.map(hexRgb);

export function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

// A value in [-1, 1] (clamped) as an RGB triple.
export function diverging(v) {
  const t = Math.max(-1, Math.min(1, v));
  return t < 0 ? mix(MID, NEG, -t) : mix(MID, POS, t);
}

export function rgbCss(rgb) {
  return `rgb(${rgb.map((c) => Math.round(c)).join(",")})`;
}

// {lo, hi, data: base64 bytes} -> Float32Array of values.
export function decode(map) {
  const bytes = Uint8Array.from(atob(map.data), (c) => c.charCodeAt(0));
  const out = new Float32Array(bytes.length);
  const span = map.hi - map.lo;
  for (let k = 0; k < bytes.length; k++) out[k] = map.lo + (bytes[k] / 255) * span;
  return out;
}

// Scale a neuron's values to [-1, 1] for colouring, by what its activation can produce.
export function toSigned(values, activation, map) {
  if (activation === "logistic" || activation === "softmax") {
    return values.map((v) => 2 * v - 1);
  }
  if (activation === "tanh") return values;
  const m = Math.max(Math.abs(map.lo), Math.abs(map.hi), 1e-9);
  return values.map((v) => v / m);
}

// Paint an n x n grid of RGB triples onto a canvas (scaled to its size).
export function paintGrid(canvas, n, colorAt) {
  const image = new ImageData(n, n);
  for (let k = 0; k < n * n; k++) {
    const rgb = colorAt(k);
    image.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * k);
  }
  const off = document.createElement("canvas");
  off.width = n;
  off.height = n;
  off.getContext("2d").putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

// Colour of the output at grid cell k: class colours, or the diverging scale.
export function outputColorFn(state, discretize) {
  const maps = state.output.maps.map(decode);
  const config = state.config;
  if (config.task === "regression") {
    return (k) => diverging(discretize ? Math.sign(maps[0][k]) : maps[0][k]);
  }
  if (maps.length === 1) {
    return (k) => {
      const v = 2 * maps[0][k] - 1;
      return diverging(discretize ? (v >= 0 ? 1 : -1) : v);
    };
  }
  const K = maps.length;
  return (k) => {
    let best = 0;
    for (let c = 1; c < K; c++) if (maps[c][k] > maps[best][k]) best = c;
    const conf = discretize ? 1 : Math.max(0, (maps[best][k] - 1 / K) / (1 - 1 / K));
    return mix(MID, CLASS_RGB[best % CLASS_RGB.length], 0.15 + 0.85 * conf);
  };
}

export function toCanvas(canvas, x1, x2) {
  return [(x1 + DOMAIN) / (2 * DOMAIN) * canvas.width,
    (DOMAIN - x2) / (2 * DOMAIN) * canvas.height];
}

export function fromCanvas(canvas, px, py) {
  return [px / canvas.width * 2 * DOMAIN - DOMAIN, DOMAIN - py / canvas.height * 2 * DOMAIN];
}

export function pointColor(label, task) {
  if (task === "regression") return rgbCss(diverging(label));
  return CLASS_COLORS[label % CLASS_COLORS.length];
}

// Training points with a white rim, test points with a black rim; the picked one ringed.
export function drawPoints(canvas, points, task, showTest, picked) {
  const ctx = canvas.getContext("2d");
  const sets = showTest ? [["train", "#fff"], ["test", "#000"]] : [["train", "#fff"]];
  for (const [name, rim] of sets) {
    for (const [x1, x2, label] of points[name]) {
      const [px, py] = toCanvas(canvas, x1, x2);
      ctx.beginPath();
      ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = pointColor(label, task);
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = rim;
      ctx.stroke();
    }
  }
  if (picked) {
    const [px, py] = toCanvas(canvas, picked[0], picked[1]);
    ctx.beginPath();
    ctx.arc(px, py, 8, 0, 2 * Math.PI);
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = "#111";
    ctx.stroke();
  }
}

// Training (grey) and test (black) loss against the epoch, with axes: the epochs along
// the bottom, the loss from 0 to its largest value up the left side.
export function drawLossChart(canvas, history) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, left = 34, bottom = 14, top = 4;
  ctx.clearRect(0, 0, W, H);
  const rows = history.filter((r) => r[1] !== null && r[2] !== null);
  const peak = rows.length ? Math.max(...rows.map((r) => Math.max(r[1], r[2])), 1e-9) : 1;
  const first = rows.length ? rows[0][0] : 0, last = rows.length ? rows[rows.length - 1][0] : 1;
  const x = (e) => left + (e - first) / Math.max(last - first, 1) * (W - left - 4);
  const y = (v) => H - bottom - v / peak * (H - bottom - top);
  ctx.strokeStyle = "#555";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, H - bottom);
  ctx.lineTo(W - 2, H - bottom);
  ctx.stroke();
  ctx.fillStyle = "#333";
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.fillText(peak.toPrecision(2), left - 3, top + 8);
  ctx.fillText("0", left - 3, H - bottom);
  ctx.textAlign = "left";
  ctx.fillText(`epoch ${first}`, left, H - 2);
  ctx.textAlign = "right";
  ctx.fillText(String(last), W - 2, H - 2);
  if (rows.length < 2) return;
  for (const [col, color] of [[1, "#888"], [2, "#000"]]) {
    ctx.beginPath();
    rows.forEach((r, k) => (k ? ctx.lineTo(x(r[0]), y(r[col])) : ctx.moveTo(x(r[0]), y(r[col]))));
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.stroke();
  }
}

// Pictures of the data sets for the chooser (their label functions, not samples).
const SHAPES = {
  circle: (x, y) => (Math.hypot(x, y) < 2.8 ? 1 : -1),
  xor: (x, y) => (x * y >= 0 ? 1 : -1),
  gauss: (x, y) => (Math.hypot(x - 2, y - 2) < 2.2 ? 1 : Math.hypot(x + 2, y + 2) < 2.2 ? -1 : 0),
  spiral: (x, y) => {
    const r = Math.hypot(x, y);
    const t = Math.atan2(x, y) - r / 5 * 1.75 * 2 * Math.PI;
    return Math.cos(t) * Math.min(1, r);
  },
  plane: (x, y) => (x + y) / 10,
  "reg-gauss": (x, y) => {
    const bumps = [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1],
      [4, -2.5, -1]];
    let best = 0;
    for (const [cx, cy, s] of bumps) {
      const v = s * Math.max(0, 1 - Math.hypot(x - cx, y - cy) / 2);
      if (Math.abs(v) > Math.abs(best)) best = v;
    }
    return best;
  },
};

// Uploaded data: its training points, coloured by label.
export function drawPointsThumbnail(canvas, points, task) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = rgbCss(MID);
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (const [x1, x2, label] of points.train) {
    const [px, py] = toCanvas(canvas, x1, x2);
    ctx.fillStyle = pointColor(label, task);
    ctx.fillRect(px - 1, py - 1, 2.5, 2.5);
  }
}

export function drawThumbnail(canvas, name) {
  const n = 24;
  const shape = SHAPES[name];
  paintGrid(canvas, n, (k) => {
    const x = ((k % n) + 0.5) / n * 2 * DOMAIN - DOMAIN;
    const y = DOMAIN - (Math.floor(k / n) + 0.5) / n * 2 * DOMAIN;
    return diverging(shape ? shape(x, y) : 0);
  });
}

// Colour key under the output: the classes (an uploaded CSV's by their labels), or the value
// scale for regression.
export function drawLegend(box, task, nOutputs, names = null) {
  box.replaceChildren();
  const name = (k) => (!names ? `class ${k}`
    : /^-?\d+$/.test(names[k]) ? `class ${names[k]}` : names[k]);
  const entries = task === "regression" ? [["−1", rgbCss(diverging(-1))], ["0", rgbCss(MID)],
    ["+1", rgbCss(diverging(1))]]
    : CLASS_COLORS.slice(0, Math.max(nOutputs, 2)).map((c, k) => [name(k), c]);
  for (const [label, color] of entries) {
    const item = document.createElement("span");
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.style.background = color;
    item.append(chip, label);
    box.append(item);
  }
}
