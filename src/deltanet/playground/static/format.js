// Numbers for people, and the one name of each loss.
//
// A value gets four significant digits, and more when it lies close to a whole number, so
// that a saturated output still differs from its target: a_j = 1 − 4.5×10⁻⁷ reads
// 0.99999955, not 1.000. Very small and very large values are written as m×10ᵏ.

export const LOSS_NAMES = { squared_error: "squared error", log_loss: "cross-entropy",
  cross_entropy: "cross-entropy" };

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷",
  8: "⁸", 9: "⁹" };

// Significant digits for v: `digits`, or, for a v within 0.1 % of a whole number it is
// not, enough to show its distance to that number with two digits of its own.
export function digitsFor(v, digits = 4) {
  if (!Number.isFinite(v) || v === 0) return digits;
  const near = Math.round(v);
  const gap = Math.abs(v - near);
  if (near === 0 || gap === 0 || gap >= 1e-3 * Math.abs(v)) return digits;
  const need = Math.floor(Math.log10(Math.abs(v))) + 1 + Math.floor(-Math.log10(gap)) + 2;
  return Math.min(Math.max(digits, need), 15);
}

// [mantissa text, exponent or null] of v at `digits` significant digits.
function parts(v, digits) {
  const abs = Math.abs(v);
  if (abs >= 1e-3 && abs < 1e6) {
    let text = v.toPrecision(digits);
    if (text.includes("e")) text = String(Number(text));
    if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
    return [text, null];
  }
  const [m, e] = v.toExponential(digits - 1).split("e");
  const mantissa = m.includes(".") ? m.replace(/0+$/, "").replace(/\.$/, "") : m;
  return [mantissa, Number(e)];
}

function special(v) {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  return v === 0 ? "0" : null;
}

// v as text: "0.99999955", "−0.2447", "4.483×10⁻⁷".
export function fmt(v, digits = 4) {
  const s = special(v);
  if (s !== null) return s;
  const [m, e] = parts(v, digitsFor(v, digits));
  const exp = e === null ? "" : `×10${[...String(e)].map((c) => SUPERSCRIPT[c]).join("")}`;
  return (m + exp).replace("-", "−");
}

// v in the derivation's TeX: "4.483 \times 10^{-7}".
export function fmtTex(v, digits = 4) {
  const s = special(v);
  if (s !== null) return s === "∞" ? "\\infty" : s === "−∞" ? "-\\infty" : s;
  const [m, e] = parts(v, digitsFor(v, digits));
  return e === null ? m : `${m} \\times 10^{${e}}`;
}

// Two values that differ, written with enough digits to show that they do.
export function fmtPair(a, b, writer = fmt) {
  for (let d = 4; d <= 15; d++) {
    const [x, y] = [writer(a, d), writer(b, d)];
    if (x !== y || d === 15 || a === b) return [x, y];
  }
  return [writer(a), writer(b)];
}

// The place value of the last digit fmt(v) shows: answers within it count as equal.
export function shownUnit(v, digits = 4) {
  if (!Number.isFinite(v) || v === 0) return 10 ** -(digits - 1) * 1e-3;
  return 10 ** (Math.floor(Math.log10(Math.abs(v))) - digitsFor(v, digits) + 1);
}
