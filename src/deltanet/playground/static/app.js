// The playground page: settings in the URL hash, a session on the server, live training.
import { Api } from "./api.js";
import { BackwardView } from "./backward.js";
import { bindControls, syncControls } from "./controls.js";
import { fmt, LOSS_NAMES } from "./format.js";
import { DEFAULTS, readHash, writeHash } from "./hash.js";
import * as hm from "./heatmap.js";
import { LessonPanel } from "./lesson-panel.js";
import { MAX_NEURONS, NetworkView } from "./network.js";

const MAX_LAYERS = 6;
const $ = (id) => document.getElementById(id);
// Settings that only make sense together, tried as one when a link's settings are refused.
const GROUPS = [["dataset", "task"], ["layers", "activations"]];

export class App {
  constructor() {
    const { config, view, lesson } = readHash(location.hash);
    this.config = config;
    this.view = view;
    this.lessonHide = lesson.hide;
    this.csv = null;              // the uploaded CSV, for links and lesson files
    this.state = null;
    this.points = null;
    this.playing = false;
    this.pending = 0;             // settings requests not yet answered
    this.queue = Promise.resolve();
    this.api = new Api(() => this.config);
    this.network = new NetworkView($("network"), $("edges"), {
      toggleFeature: (name) => this.toggleFeature(name),
      resizeLayer: (layer, delta) => this.resizeLayer(layer, delta),
      setActivation: (layer, name) => {
        const activations = [...this.config.activations];
        activations[layer] = name;
        this.apply({ activations });
      },
      editWeight: (i, j, event) => this.editWeight(i, j, event),
      selectNeuron: (j) => this.selectNeuron(j),
      previewNeuron: (j) => this.previewNeuron(j),
    });
    this.backward = new BackwardView(this.api, this.network, (err) => this.showError(err));
    this.backward.onPick = () => this.drawOutput();
    this.network.onRedraw = () => this.backward.redraw(this.state);
    this.heatmap = $("heatmap");
    this.lesson = new LessonPanel(this);
    bindControls(this);
    syncControls(this);
    $("download-model").addEventListener("click", (event) => {
      event.preventDefault();
      this.downloadModel();
    });
    window.addEventListener("hashchange", () => this.openHash(location.hash));
  }

  // Run API work one request at a time, in order.
  enqueue(work) {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  // Save the network on screen as a .deltanet file (fetched with the page's token).
  async downloadModel() {
    try {
      const { blob, name } = await this.enqueue(() => this.api.modelFile());
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    } catch (err) {
      this.showError(err);
    }
  }

  async start() {
    await this.api.checkSession();
    await this.openHash(location.hash);
  }

  // Open a link's hash (at start, or when the URL is edited): its data, its settings (each
  // one the server refuses is named and left out, the others still apply), its weights.
  async openHash(hash) {
    if (this.written === hash) return;
    if (this.playing) this.togglePlay();
    const { config, view, lesson, bad } = readHash(hash);
    this.view = view;
    this.lessonHide = lesson.hide;
    this.lesson.hide(lesson.hide);
    try {
      if (lesson.data) await this.uploadText(await this.lesson.unpack(lesson.data), false);
      const refused = [...bad.map(([k, t]) => `${k}=${t}`), ...await this.applyAll(config)];
      if (refused.length) {
        this.showError(new Error(`The link's setting${refused.length > 1 ? "s" : ""} ` +
          `${refused.join(", ")} could not be used and ${refused.length > 1 ? "were" : "was"} ` +
          "left at the default; the other settings apply."));
      }
      if (lesson.w) await this.setWeights(this.lesson.weights(lesson.w, this.state));
    } catch (err) {
      this.showError(err);
    }
  }

  // Send `config`; when the server refuses it, send it again group by group and return
  // the settings it refused.
  async applyAll(config) {
    this.config = structuredClone(config);
    if (await this.apply({}, { quiet: true })) return [];
    const refused = [];
    this.config = { ...structuredClone(DEFAULTS), ...(this.csv ? this.uploadSettings() : {}) };
    await this.apply({}, { quiet: true });
    const grouped = new Set(GROUPS.flat());
    const groups = [...GROUPS, ...Object.keys(DEFAULTS).filter((k) => !grouped.has(k))
      .map((k) => [k])];
    for (const keys of groups) {
      const changes = Object.fromEntries(keys.map((k) => [k, config[k]]));
      if (JSON.stringify(keys.map((k) => this.config[k])) === JSON.stringify(keys
        .map((k) => config[k]))) continue;
      if (!(await this.apply(changes, { quiet: true }))) {
        refused.push(...keys.map((k) => `${k}=${config[k]}`));
      }
    }
    return refused;
  }

  uploadSettings() {
    const c = this.state.config;
    return { dataset: c.dataset, task: c.task, n_classes: c.n_classes, loss: c.loss };
  }

  // Send the settings with `changes`; the server's answer becomes the page's state.
  // Changes made in quick succession build on each other (the page's settings change at
  // once, requests go in order). Resolves to true on success; on failure shows the
  // server's message (unless quiet) and returns to the server's settings.
  apply(changes, { quiet = false } = {}) {
    this.config = { ...this.config, ...changes };
    const next = this.config;
    this.pending += 1;
    return this.enqueue(async () => {
      try {
        const state = await this.api.configure(next);
        this.pending -= 1;
        this.render(state);
        if (!quiet) this.clearError();
        return true;
      } catch (err) {
        this.pending -= 1;
        if (!quiet) this.showError(err);
        if (this.state) this.config = this.state.config;
        syncControls(this);
        return false;
      }
    });
  }

  // A request that answers with a new state (step, reset, weights, upload).
  request(work) {
    return this.enqueue(work).then((s) => { this.render(s); return s; },
      (err) => { this.showError(err); return null; });
  }

  render(state) {
    this.state = state;
    if (state.points) this.points = state.points;
    if (!this.pending) {
      this.config = state.config;
      this.written = writeHash(this.config, this.view, this.lesson.linkParts(false));
      syncControls(this);
    }
    $("epoch").textContent = String(state.epoch);
    for (const [id, value] of [["test-loss", state.loss.test], ["train-loss", state.loss.train]]) {
      const node = $(id);
      node.textContent = value === null ? "–" : fmt(value);
      node.dataset.value = value === null ? "" : String(value);
    }
    $("loss-name").textContent = `loss: ${LOSS_NAMES[state.loss_name]}`;
    hm.drawLossChart($("loss-chart"), state.history);
    this.drawOutput();
    this.network.render(state);
    this.backward.setPoints(this.points, this.view.show_test);
    this.backward.redraw(state);
    if (this.backward.open) this.backward.refresh(state);
    if (!this.playing) this.announce();
  }

  // Tell screen readers where training stands (not on every frame while running).
  announce() {
    const s = this.state;
    if (!s) return;
    const loss = (v) => (v === null ? "none" : fmt(v));
    $("status").textContent = `Epoch ${s.epoch}: training loss ${loss(s.loss.train)}, ` +
      `test loss ${loss(s.loss.test)}.`;
  }

  drawOutput() {
    if (!this.state || !this.points) return;
    const state = this.state;
    if (this.preview) {
      hm.paintGrid(this.heatmap, state.heatmaps.size, this.preview);
    } else {
      hm.paintGrid(this.heatmap, state.output.size, hm.outputColorFn(state, this.view.discretize));
    }
    const picked = this.backward.open ? this.backward.point : null;
    hm.drawPoints(this.heatmap, this.points, state.config.task, this.view.show_test, picked);
    hm.drawLegend($("legend"), state.config.task, state.config.task === "regression" ? 1
      : state.config.n_classes, state.classes);
    $("output-caption").textContent = this.previewId ? `Showing neuron ${this.previewId}` : "";
  }

  // Show neuron j's map in the large output square while it is hovered or focused.
  previewNeuron(j) {
    const canvas = j === null ? null : document.querySelector(`canvas[data-map="${j}"]`);
    const map = j === null || !this.state ? null : this.state.heatmaps.neurons[String(j)];
    this.previewId = map ? j : null;
    this.preview = null;
    if (map) {
      const colors = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
      const n = this.state.heatmaps.size, w = canvas.width;
      this.preview = (k) => {
        const px = Math.floor(((k % n) + 0.5) / n * w), py = Math.floor((Math.floor(k / n) + 0.5)
          / n * canvas.height);
        const o = 4 * (py * w + px);
        return [colors.data[o], colors.data[o + 1], colors.data[o + 2]];
      };
    }
    this.drawOutput();
  }

  setView(changes) {
    Object.assign(this.view, changes);
    this.written = writeHash(this.config, this.view, this.lesson.linkParts(false));
    this.backward.setPoints(this.points, this.view.show_test);
    this.drawOutput();
  }

  // ------------------------------------------------------------------ training
  togglePlay() {
    this.playing = !this.playing;
    if (this.playing) this.loop();
    const button = $("play");
    button.classList.toggle("playing", this.playing);
    button.setAttribute("aria-pressed", String(this.playing));
    button.querySelector(".icon-play").toggleAttribute("hidden", this.playing);
    button.querySelector(".icon-pause").toggleAttribute("hidden", !this.playing);
  }

  // Train while playing. The answer to a step sent before Pause is still shown: it is the
  // server's network, so the page, the backward view and the download agree.
  async loop() {
    while (this.playing) {
      try {
        this.render(await this.enqueue(() => this.api.step(Number(this.view.speed))));
      } catch (err) {
        this.showError(err);
        if (this.playing) this.togglePlay();
      }
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
    this.announce();
  }

  step() {
    if (this.playing) this.togglePlay();
    return this.request(() => this.api.step(1));
  }

  reset() {
    if (this.playing) this.togglePlay();
    return this.request(() => this.api.reset());
  }

  regenerate() {
    this.apply({ seed: Math.floor(Math.random() * 2 ** 31) });
  }

  async upload(file) {
    if (!file) return;
    await this.uploadText(await file.text(), true);
  }

  async uploadText(text, report) {
    const state = await (report ? this.request(() => this.api.upload(text))
      : this.enqueue(() => this.api.upload(text)).then((s) => { this.render(s); return s; }));
    if (state) {
      this.csv = text;
      await this.lesson.setData(text);
      this.written = writeHash(this.config, this.view, this.lesson.linkParts(false));
      if (report) this.clearError();
    }
    return state;
  }

  setWeights(edges) {
    return this.request(() => this.api.setWeights(edges));
  }

  // ------------------------------------------------------------------ network edits
  toggleFeature(name) {
    const active = new Set(this.config.features);
    if (active.has(name) && active.size === 1) {
      this.showError(new Error("The network needs at least one input feature."));
      return;
    }
    if (active.has(name)) active.delete(name);
    else active.add(name);
    this.apply({ features: [...active] });
  }

  addLayer() {
    const { layers, activations } = this.config;
    if (layers.length >= MAX_LAYERS) return;
    this.apply({ layers: [...layers, 2],
      activations: [...activations, activations[activations.length - 1] || "tanh"] });
  }

  removeLayer() {
    const { layers, activations } = this.config;
    if (!layers.length) return;
    this.apply({ layers: layers.slice(0, -1), activations: activations.slice(0, -1) });
  }

  resizeLayer(layer, delta) {
    const layers = [...this.config.layers];
    const size = layers[layer] + delta;
    if (size < 1 || size > MAX_NEURONS) return;
    layers[layer] = size;
    this.apply({ layers });
  }

  editWeight(i, j, event) {
    const editor = $("weight-editor");
    const input = $("weight-input");
    const edge = this.state.network.edges.find((e) => e[0] === i && e[1] === j);
    if (!edge) return;
    $("weight-name").textContent = `w${i},${j}`;
    input.value = Number(edge[2].toPrecision(4));
    editor.dataset.arc = `${i},${j}`;
    const left = Math.min(event.pageX + 8, window.scrollX + document.documentElement.clientWidth
      - 200);
    editor.style.left = `${Math.max(left, 0)}px`;
    editor.style.top = `${event.pageY + 8}px`;
    editor.hidden = false;
    this.editorReturn = document.activeElement;
    input.focus();
    input.select();
  }

  closeEditor() {
    $("weight-editor").hidden = true;
    if (this.editorReturn && this.editorReturn.isConnected) this.editorReturn.focus();
  }

  submitWeight() {
    const [i, j] = $("weight-editor").dataset.arc.split(",").map(Number);
    const value = Number($("weight-input").value);
    this.closeEditor();
    this.request(() => this.api.setWeight(i, j, value));
  }

  selectNeuron(j) {
    if (!this.backward.open) this.toggleBackward();
    this.backward.selectNeuron(j);
  }

  pickPoint(event) {
    if (!this.points) return;
    if (!this.backward.open) this.toggleBackward();
    const rect = this.heatmap.getBoundingClientRect();
    const px = (event.clientX - rect.left) / rect.width * this.heatmap.width;
    const py = (event.clientY - rect.top) / rect.height * this.heatmap.height;
    const [x1, x2] = hm.fromCanvas(this.heatmap, px, py);
    this.backward.pick(this.state, x1, x2);
    this.drawOutput();
  }

  toggleBackward() {
    this.backward.toggle(this.state, this.points, this.view.show_test);
    this.drawOutput();
  }

  // Say what went wrong in one sentence; the message goes when the next request succeeds.
  showError(err) {
    const box = $("message");
    box.querySelector(".text").textContent = this.api.describe(err);
    box.hidden = false;
  }

  clearError() {
    $("message").hidden = true;
  }
}

const app = new App();
window.playground = app;
app.start().then(() => document.body.setAttribute("data-ready", "true"));
