// The playground page: settings in the URL hash, a session on the server, live training.
import { Api } from "./api.js";
import { BackwardView } from "./backward.js";
import { bindControls, syncControls } from "./controls.js";
import { DEFAULTS, readHash, writeHash } from "./hash.js";
import * as hm from "./heatmap.js";
import { NetworkView } from "./network.js";

const MAX_LAYERS = 6, MAX_NEURONS = 8;

export class App {
  constructor() {
    const { config, view } = readHash(location.hash);
    this.config = config;
    this.view = view;
    this.state = null;
    this.points = null;
    this.playing = false;
    this.pending = 0;             // settings requests not yet answered
    this.queue = Promise.resolve();
    this.api = new Api(() => this.config);
    this.network = new NetworkView(document.getElementById("network"),
      document.getElementById("edges"), {
        toggleFeature: (name) => this.toggleFeature(name),
        resizeLayer: (layer, delta) => this.resizeLayer(layer, delta),
        setActivation: (layer, name) => {
          const activations = [...this.config.activations];
          activations[layer] = name;
          this.apply({ activations });
        },
        editWeight: (i, j, event) => this.editWeight(i, j, event),
      });
    this.backward = new BackwardView(this.api, this.network, (err) => this.showError(err));
    this.network.onRedraw = () => this.backward.redraw(this.state);
    this.heatmap = document.getElementById("heatmap");
    bindControls(this);
    syncControls(this);
  }

  // Run API work one request at a time, in order.
  enqueue(work) {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  // Send the URL's settings; if the server refuses them, start from the defaults.
  async start() {
    await this.api.checkSession();
    if (!(await this.apply({}))) {
      this.config = structuredClone(DEFAULTS);
      await this.apply({});
    }
  }

  // Send the settings with `changes`; the server's answer becomes the page's state.
  // Changes made in quick succession build on each other (the page's settings change at
  // once, requests go in order). Resolves to true on success; on failure shows the
  // server's message and returns to the server's settings.
  apply(changes) {
    this.config = { ...this.config, ...changes };
    const next = this.config;
    this.pending += 1;
    return this.enqueue(async () => {
      try {
        const state = await this.api.configure(next);
        this.pending -= 1;
        this.render(state);
        return true;
      } catch (err) {
        this.pending -= 1;
        this.showError(err);
        if (this.state) this.config = this.state.config;
        syncControls(this);
        return false;
      }
    });
  }

  render(state) {
    this.state = state;
    if (state.points) this.points = state.points;
    if (!this.pending) {
      this.config = state.config;
      writeHash(this.config, this.view);
      syncControls(this);
    }
    document.getElementById("epoch").textContent = String(state.epoch);
    for (const [id, value] of [["test-loss", state.loss.test], ["train-loss", state.loss.train]]) {
      const node = document.getElementById(id);
      node.textContent = value === null ? "–" : value < 1 ? value.toPrecision(3) : value.toFixed(3);
      node.dataset.value = value === null ? "" : String(value);
    }
    document.getElementById("loss-name").textContent = `loss: ${state.loss_name}`;
    hm.drawLossChart(document.getElementById("loss-chart"), state.history);
    this.drawOutput();
    this.network.render(state);
    this.backward.redraw(state);
    if (this.backward.open) this.backward.refresh(state);
    document.getElementById("download-model").href = this.api.modelUrl();
  }

  drawOutput() {
    if (!this.state || !this.points) return;
    const state = this.state;
    hm.paintGrid(this.heatmap, state.output.size, hm.outputColorFn(state, this.view.discretize));
    const picked = this.backward.open ? this.backward.point : null;
    hm.drawPoints(this.heatmap, this.points, state.config.task, this.view.show_test, picked);
    hm.drawLegend(document.getElementById("legend"), state.config.task, state.output.maps.length);
  }

  setView(changes) {
    Object.assign(this.view, changes);
    writeHash(this.config, this.view);
    this.drawOutput();
  }

  // ------------------------------------------------------------------ training
  togglePlay() {
    if (this.playing) {
      this.playing = false;
    } else {
      this.playing = true;
      this.loop();
    }
    const button = document.getElementById("play");
    button.classList.toggle("playing", this.playing);
    button.setAttribute("aria-pressed", String(this.playing));
    button.querySelector(".icon-play").toggleAttribute("hidden", this.playing);
    button.querySelector(".icon-pause").toggleAttribute("hidden", !this.playing);
  }

  async loop() {
    while (this.playing) {
      try {
        const state = await this.enqueue(() => this.api.step(Number(this.view.speed)));
        if (this.playing) this.render(state);
      } catch (err) {
        this.showError(err);
        if (this.playing) this.togglePlay();
      }
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
  }

  step() {
    if (this.playing) this.togglePlay();
    return this.enqueue(() => this.api.step(1)).then((s) => this.render(s),
      (err) => this.showError(err));
  }

  reset() {
    if (this.playing) this.togglePlay();
    return this.enqueue(() => this.api.reset()).then((s) => this.render(s),
      (err) => this.showError(err));
  }

  regenerate() {
    this.apply({ seed: Math.floor(Math.random() * 2 ** 31) });
  }

  upload(file) {
    if (!file) return;
    this.enqueue(() => this.api.upload(file)).then((s) => this.render(s),
      (err) => this.showError(err));
  }

  // ------------------------------------------------------------------ network edits
  toggleFeature(name) {
    const active = new Set(this.config.features);
    if (active.has(name) && active.size === 1) {
      this.showError(new Error("the network needs at least one input feature"));
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
    const editor = document.getElementById("weight-editor");
    const input = document.getElementById("weight-input");
    const edge = this.state.network.edges.find((e) => e[0] === i && e[1] === j);
    if (!edge) return;
    document.getElementById("weight-name").textContent = `w${i},${j}`;
    input.value = Number(edge[2].toPrecision(4));
    editor.dataset.arc = `${i},${j}`;
    editor.style.left = `${event.pageX + 8}px`;
    editor.style.top = `${event.pageY + 8}px`;
    editor.hidden = false;
    input.focus();
    input.select();
  }

  submitWeight() {
    const editor = document.getElementById("weight-editor");
    const [i, j] = editor.dataset.arc.split(",").map(Number);
    const value = Number(document.getElementById("weight-input").value);
    editor.hidden = true;
    this.enqueue(() => this.api.setWeight(i, j, value)).then((s) => this.render(s),
      (err) => this.showError(err));
  }

  pickPoint(event) {
    if (!this.backward.open || !this.points) return;
    const rect = this.heatmap.getBoundingClientRect();
    const px = (event.clientX - rect.left) / rect.width * this.heatmap.width;
    const py = (event.clientY - rect.top) / rect.height * this.heatmap.height;
    const [x1, x2] = hm.fromCanvas(this.heatmap, px, py);
    this.backward.pick(this.state, x1, x2, this.points, this.view.show_test);
    this.drawOutput();
  }

  toggleBackward() {
    this.backward.toggle(this.state, this.points);
    this.drawOutput();
  }

  showError(err) {
    const box = document.getElementById("message");
    box.textContent = err.message || String(err);
    box.hidden = false;
    clearTimeout(this.messageTimer);
    this.messageTimer = setTimeout(() => { box.hidden = true; }, 8000);
  }
}

const app = new App();
window.playground = app;
app.start().then(() => document.body.setAttribute("data-ready", "true"));
