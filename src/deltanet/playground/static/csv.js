// An uploaded CSV of x1, x2, label read in the page, as datasets.parse_csv reads it on the
// server: coordinates scaled onto [-6, 6] (a constant column to 0); whole-number labels with
// at most 8 values are classes 0..K-1 in the order of their values, other labels a regression
// target scaled onto [-1, 1].

const isNumeric = (row) => row.length > 0
  && row.every((cell) => cell.trim() !== "" && Number.isFinite(Number(cell)));

export function parseCsv(text, maxRows) {
  let rows = text.split(/\r?\n/).map((line) => line.split(","))
    .filter((row) => row.some((c) => c.trim()));
  let names = ["x1", "x2", "label"];
  if (rows.length && !isNumeric(rows[0])) {
    const header = rows[0].map((c) => c.trim());
    if (header.length === 3 && header.every(Boolean) && new Set(header).size === 3) names = header;
    rows = rows.slice(1);
  }
  if (rows.length < 4) {
    throw new Error(`the CSV has ${rows.length} data rows; give at least 4 rows of x1,x2,label`);
  }
  if (rows.length > maxRows) {
    throw new Error(`the CSV has ${rows.length} rows; the playground takes at most ${maxRows}`);
  }
  rows.forEach((row, n) => {
    if (row.length !== 3 || !isNumeric(row)) {
      throw new Error(`data row ${n + 1} is '${row.slice(0, 4).join(", ")}'; `
        + "every row must be three numbers: x1, x2, label");
    }
  });
  const data = rows.map((row) => row.map(Number));
  const labels = data.map((row) => row[2]);
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  if (classes.length === 1) {
    throw new Error(`every label is ${classes[0]}; give at least two classes `
      + "(or, for regression, labels that vary)");
  }
  const whole = labels.every((v) => v === Math.round(v));
  const task = whole && classes.length <= 8 ? "classification" : "regression";
  const scale = (k, low, high) => {
    const column = data.map((row) => row[k]);
    const [min, max] = [Math.min(...column), Math.max(...column)];
    return column.map((v) => (max > min ? low + ((v - min) / (max - min)) * (high - low) : 0));
  };
  const [x1, x2] = [scale(0, -6, 6), scale(1, -6, 6)];
  const y = task === "classification" ? labels.map((v) => classes.indexOf(v)) : scale(2, -1, 1);
  return { X: x1.map((v, e) => [v, x2[e]]), y, task, text, names };
}
