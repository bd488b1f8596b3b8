// The quiz's part of the backward view: the question on the selected neuron (or one of
// the arcs into it), the answer box and the feedback. While the quiz is on, the page hides
// the derivation, the tables and the Δ labels, which would give the answers away.
import { check, feedback, KINDS, parseAnswer } from "./quiz.js";

const $ = (id) => document.getElementById(id);
const ARC_KINDS = new Set(["grad", "new_w"]);

export class Quiz {
  constructor(view) {
    this.view = view;
    this.active = false;
    const kinds = $("quiz-kind");
    for (const [value, text] of Object.entries(KINDS)) kinds.append(new Option(text, value));
    $("quiz-toggle").addEventListener("click", () => this.toggle());
    kinds.addEventListener("change", () => this.retarget());
    $("quiz-arc").addEventListener("change", () => this.retarget());
    $("quiz-check").addEventListener("click", () => this.answer());
    $("quiz-answer").addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.answer();
    });
  }

  toggle() {
    this.active = !this.active;
    $("quiz-toggle").setAttribute("aria-pressed", String(this.active));
    $("quiz-body").hidden = !this.active;
    for (const id of ["derivation-box", "value-tables"]) $(id).hidden = this.active;
    $("quiz-feedback").textContent = "";
    this.retarget();
    this.view.redraw(this.view.latest);
    if (this.active) $("quiz-answer").focus();
  }

  question() {
    const kind = $("quiz-kind").value;
    if (!ARC_KINDS.has(kind)) return { kind, j: this.view.neuron };
    const [i, j] = $("quiz-arc").value.split(",").map(Number);
    return { kind, arc: [i, j] };
  }

  // Ask about the selected neuron (and fill the choice of arcs into it).
  retarget() {
    const r = this.view.result;
    if (!this.active || !r) return;
    const j = this.view.neuron;
    const select = $("quiz-arc");
    const arcs = r.edges.filter((e) => e.j === j).map((e) => `${e.i},${e.j}`);
    if (select.dataset.key !== arcs.join(" ")) {
      select.replaceChildren(...arcs.map((a) => new Option(`(${a.replace(",", ", ")})`, a)));
      select.dataset.key = arcs.join(" ");
    }
    const q = this.question();
    $("quiz-arc-field").hidden = !ARC_KINDS.has(q.kind);
    const [x1, x2] = r.x;
    const what = {
      in: `the net input in_${j}`, a: `the output a_${j}`, delta: `the delta Δ_${j}`,
      grad: q.arc && `∂J/∂w_${q.arc[0]},${q.arc[1]}`,
      new_w: q.arc && `the new weight w_${q.arc[0]},${q.arc[1]} after this step (α = ${r.lr})`,
    }[q.kind];
    $("quiz-question").textContent = `For the point x = (${x1}, ${x2}) with y = ${r.y}, ` +
      `what is ${what}? Give four significant digits (more for values close to a whole ` +
      "number, as the page shows them).";
    this.view.light();
  }

  // The neurons and arcs the question is about, lit in the diagram.
  lit() {
    const q = this.question();
    return q.arc ? { neurons: q.arc.filter((v) => v > 0), arcs: [q.arc] }
      : { neurons: [q.j], arcs: [] };
  }

  answer() {
    const r = this.view.result;
    if (!r) return;
    const given = parseAnswer($("quiz-answer").value);
    const box = $("quiz-feedback");
    if (Number.isNaN(given)) {
      box.textContent = "Type a number, e.g. 0.2447 or -1.5e-3.";
      box.dataset.result = "invalid";
      return;
    }
    const result = check(r, this.question(), given);
    box.textContent = feedback(result, given);
    box.dataset.result = result.correct ? "right" : result.slip ? "slip" : "wrong";
  }
}
