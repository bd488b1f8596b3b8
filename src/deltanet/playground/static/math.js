// TeX-like math for the derivation panel, shown with Unicode symbols, subscripts and
// superscripts; safe: every character of the source is escaped, no HTML passes through.

const SYMBOLS = {
  Delta: "Δ", delta: "δ", alpha: "α", beta: "β", gamma: "γ", sigma: "σ", epsilon: "ε",
  varepsilon: "ε", lambda: "λ", mu: "μ", eta: "η", theta: "θ", pi: "π", ell: "ℓ",
  sum: "Σ", prod: "Π", partial: "∂", nabla: "∇", leftarrow: "←", gets: "←", to: "→",
  rightarrow: "→", Rightarrow: "⇒", cdot: "·", times: "×", approx: "≈", ne: "≠", neq: "≠",
  le: "≤", leq: "≤", ge: "≥", geq: "≥", in: "∈", infty: "∞", pm: "±", quad: "\u2003",
  qquad: "\u2003\u2003", ",": "\u2009", ";": "\u2005", " ": " ", "{": "{", "}": "}",
  "%": "%", "_": "_", log: "log", exp: "exp", max: "max", min: "min", tanh: "tanh",
  odot: "⊙", mid: "|", prime: "′", left: "", right: "", big: "", Big: "",
  lbrace: "{", rbrace: "}", ln: "ln", sin: "sin", cos: "cos", softmax: "softmax",
};

export function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

// TeX-like math to HTML: a tiny recursive reader over the source string.
export function mathToHtml(src) {
  let k = 0;
  function arg() {
    while (src[k] === " ") k++;
    if (src[k] === "{") return group();
    if (src[k] === "\\") return command();
    return k < src.length ? escapeHtml(src[k++]) : "";
  }
  function group() {
    k++; // "{"
    let out = "";
    while (k < src.length && src[k] !== "}") out += token();
    k++; // "}"
    return out;
  }
  function command() {
    k++; // "\"
    let name = /[A-Za-z]/.test(src[k] || "") ? src.slice(k).match(/^[A-Za-z]+/)[0] : src[k] || "";
    k += name.length;
    if (name === "frac") return `(${arg()})/(${arg()})`;
    if (name === "sqrt") return `√(${arg()})`;
    if (name === "hat") return `${arg()}\u0302`;
    if (name === "bar") return `${arg()}\u0304`;
    if (["text", "mathrm", "operatorname", "textrm", "mathit", "textit"].includes(name)) {
      return arg();
    }
    if (["mathbf", "boldsymbol"].includes(name)) return `<b>${arg()}</b>`;
    if (name in SYMBOLS) return SYMBOLS[name];
    return escapeHtml(name);
  }
  function token() {
    const c = src[k];
    if (c === "\\") return command();
    if (c === "{") return group();
    if (c === "_") { k++; return `<sub>${arg()}</sub>`; }
    if (c === "^") { k++; return `<sup>${arg()}</sup>`; }
    k++;
    return escapeHtml(c);
  }
  let out = "";
  while (k < src.length) out += token();
  return out;
}
