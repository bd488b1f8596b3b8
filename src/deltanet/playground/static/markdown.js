// A small, safe Markdown renderer for the derivation panel (no HTML passes through).
// Handles headings, paragraphs, lists, pipe tables, code, **bold**, *italic*, `code`, and
// TeX math in $...$ / $$...$$, shown with Unicode symbols, subscripts and superscripts.

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

function inline(text) {
  const parts = text.split(/(\$[^$]+\$|`[^`]+`)/);
  return parts.map((part) => {
    if (part.length > 2 && part.startsWith("$") && part.endsWith("$")) {
      return `<span class="math">${mathToHtml(part.slice(1, -1))}</span>`;
    }
    if (part.length > 2 && part.startsWith("`") && part.endsWith("`")) {
      return `<code>${escapeHtml(part.slice(1, -1))}</code>`;
    }
    return escapeHtml(part).replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>");
  }).join("");
}

function table(rows) {
  const cells = (row) => row.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
  const body = rows.filter((row, k) => !(k === 1 && /^[\s|:-]+$/.test(row)));
  const [head, ...rest] = body;
  const th = cells(head).map((c) => `<th>${inline(c)}</th>`).join("");
  const trs = rest.map((r) => `<tr>${cells(r).map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`);
  return `<table><thead><tr>${th}</tr></thead><tbody>${trs.join("")}</tbody></table>`;
}

export function renderMarkdown(text) {
  const lines = text.replace(/\r/g, "").split("\n");
  const html = [];
  let k = 0;
  while (k < lines.length) {
    const line = lines[k];
    if (line.trim() === "") { k++; continue; }
    if (line.startsWith("```")) {
      const body = [];
      for (k++; k < lines.length && !lines[k].startsWith("```"); k++) body.push(lines[k]);
      k++;
      html.push(`<pre><code>${escapeHtml(body.join("\n"))}</code></pre>`);
    } else if (line.trim().startsWith("$$")) {
      let body = line.trim().slice(2);
      while (!body.trimEnd().endsWith("$$") && k + 1 < lines.length) body += " " + lines[++k];
      k++;
      html.push(`<div class="math display">${mathToHtml(body.replace(/\$\$\s*$/, ""))}</div>`);
    } else if (/^#{1,6}\s/.test(line)) {
      const level = Math.min(line.match(/^#+/)[0].length + 2, 6);
      html.push(`<h${level}>${inline(line.replace(/^#+\s*/, ""))}</h${level}>`);
      k++;
    } else if (line.trim().startsWith("|")) {
      const rows = [];
      while (k < lines.length && lines[k].trim().startsWith("|")) rows.push(lines[k++]);
      html.push(table(rows));
    } else if (/^\s*([-*]|\d+\.)\s/.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items = [];
      while (k < lines.length && /^\s*([-*]|\d+\.)\s/.test(lines[k])) {
        items.push(`<li>${inline(lines[k++].replace(/^\s*([-*]|\d+\.)\s/, ""))}</li>`);
      }
      html.push(`<${ordered ? "ol" : "ul"}>${items.join("")}</${ordered ? "ol" : "ul"}>`);
    } else {
      const para = [];
      while (k < lines.length && lines[k].trim() !== "" && !/^(#|```|\||\s*[-*]\s|\$\$)/.test(lines[k])) {
        para.push(lines[k++]);
      }
      if (!para.length) para.push(lines[k++]);
      html.push(`<p>${inline(para.join(" "))}</p>`);
    }
  }
  return html.join("\n");
}
