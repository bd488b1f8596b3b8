// An uploaded CSV of x1, x2, label read in the page, as datasets.parse_csv reads it on the
// server: coordinates scaled onto [-6, 6] (a constant column to 0); whole-number labels with
// at most 8 values are classes 0..K-1 in the order of their values, other numbers a
// regression target scaled onto [-1, 1], text labels classes in the order of their texts.
// `preprocessing` is what TablePreprocessor.to_dict() gives for the upload on the server
// (less its format version, which model-file.js adds, and the defaults of `drop` and
// `max_categories`): the table preprocessing a downloaded model carries.

const MAX_CLASSES = 8;
const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/; // datasets.NUMBER
const isNumeric = (cells) => cells.every((cell) => NUMBER.test(cell));

// The fields of one CSV line as Python's csv.reader(skipinitialspace=True) reads them (and
// pandas, for deltanet train): spaces after a comma skipped; a field in double quotes may
// hold commas and "" for a quote.
function fields(line) {
  const out = [];
  let at = 0;
  for (;;) {
    while (line[at] === " ") at += 1;
    if (line[at] === '"') {
      let value = "";
      let k = at + 1;
      while (k < line.length && !(line[k] === '"' && line[k + 1] !== '"')) {
        value += line[k];
        k += line[k] === '"' ? 2 : 1;
      }
      const end = line.indexOf(",", k);
      out.push(value + line.slice(k + 1, end < 0 ? line.length : end));
      if (end < 0) return out;
      at = end + 1;
    } else {
      const end = line.indexOf(",", at);
      out.push(line.slice(at, end < 0 ? line.length : end));
      if (end < 0) return out;
      at = end + 1;
    }
  }
}

// The text of a class as deltanet's columns.label_of writes it: 3 (also for 3.0), 2.5, red.
const labelOf = (v) => (Number.isInteger(v) ? BigInt(v).toString() : String(v));

// Texts in the order of their code points (Python's sort of str).
const byCodePoint = (a, b) => {
  const [p, q] = [Array.from(a, (c) => c.codePointAt(0)), Array.from(b, (c) => c.codePointAt(0))];
  for (let k = 0; k < Math.min(p.length, q.length); k += 1) if (p[k] !== q[k]) return p[k] - q[k];
  return p.length - q.length;
};

// A column scaled as deltanet's MinMaxScaler.transform: in halves, the quotient first.
function minMax(column, lo, hi) {
  const [min, max] = [Math.min(...column), Math.max(...column)];
  const [halfMin, halfSpan] = [min / 2, max / 2 - min / 2];
  const values = column.map((v) => (halfSpan === 0 ? (lo + hi) / 2
    : lo + ((v / 2 - halfMin) / halfSpan) * (hi - lo)));
  return { values, min, max };
}

function readRows(text, maxRows) {
  let rows = text.replace(/^\ufeff/, "").split(/\r?\n/).map(fields)
    .filter((row) => row.some((c) => c.trim()));
  let names = ["x1", "x2", "label"];
  if (rows.length && !isNumeric(rows[0].slice(0, 2))) {
    const header = rows[0]; // the names deltanet predict reads
    if (header.length === 3 && header.every((c) => c.trim()) && new Set(header).size === 3) {
      names = header;
    }
    rows = rows.slice(1);
  }
  if (rows.length < 4) {
    throw new Error(`the CSV has ${rows.length} data rows; give at least 4 rows of x1,x2,label`);
  }
  if (rows.length > maxRows) {
    throw new Error(`the CSV has ${rows.length} rows; the playground takes at most ${maxRows}`);
  }
  rows.forEach((row, n) => {
    if (row.length !== 3 || !isNumeric(row.slice(0, 2)) || !row[2].trim()) {
      throw new Error(`data row ${n + 1} is '${row.slice(0, 4).join(", ")}'; `
        + "every row must be two numbers and a label: x1, x2, label");
    }
  });
  return { rows, names };
}

// The task and the class names (null for regression) of the labels.
function target(labels, texts) {
  const distinct = [...new Set(texts ? labels : labels.map(Number))];
  const classes = texts ? distinct.sort(byCodePoint) : distinct.sort((a, b) => a - b);
  if (classes.length === 1) {
    throw new Error(texts ? `every label is '${classes[0]}'; give at least two classes`
      : `every label is ${classes[0]}; give at least two classes `
        + "(or, for regression, labels that vary)");
  }
  if (texts && classes.length > MAX_CLASSES) {
    throw new Error(`the labels are ${classes.length} different texts; the playground takes `
      + `at most ${MAX_CLASSES} classes`);
  }
  const whole = texts || classes.every((v) => v === Math.round(v));
  return whole && classes.length <= MAX_CLASSES
    ? { task: "classification", classes: texts ? classes : classes.map(labelOf) }
    : { task: "regression", classes: null };
}

export function parseCsv(text, maxRows) {
  const { rows, names } = readRows(text, maxRows);
  const labels = rows.map((row) => row[2]);
  const texts = !isNumeric(labels);
  const numbers = rows.map((row) => [Number(row[0]), Number(row[1]), texts ? 0 : Number(row[2])]);
  if (!numbers.every((row) => row.every(Number.isFinite))) {
    throw new Error("the CSV holds NaN or infinite values; remove them and upload again");
  }
  const { task, classes } = target(labels, texts);
  const [x1, x2] = [0, 1].map((k) => minMax(numbers.map((row) => row[k]), -6, 6));
  const column = (name) => ({ name, kind: "numeric", categories: null, fill: null });
  const preprocessing = {
    type: "TablePreprocessor", target: names[2], task, scale: "minmax", impute: null,
    feature_range: [-6, 6], max_classes: MAX_CLASSES, scale_target: task === "regression",
    columns: [column(names[0]), column(names[1])],
    scaler: { type: "MinMaxScaler", feature_range: [-6, 6], data_min: [x1.min, x2.min],
      data_max: [x1.max, x2.max] },
    classes, target_scaler: null,
  };
  let y;
  if (task === "classification") {
    const index = new Map(classes.map((c, k) => [c, k]));
    y = (texts ? labels : numbers.map((row) => labelOf(row[2]))).map((c) => index.get(c));
  } else {
    const values = numbers.map((row) => row[2]);
    const [low, high] = [Math.min(...values), Math.max(...values)];
    const [mean, scale] = [low / 2 + high / 2, high / 2 - low / 2];
    preprocessing.target_scaler = { type: "StandardScaler", mean: [mean], scale: [scale] };
    y = values.map((v) => (v - mean) / scale);
  }
  return { X: x1.values.map((v, e) => [v, x2.values[e]]), y, task, text, names, preprocessing };
}
