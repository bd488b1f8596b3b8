// Wiring of the page's controls to the App, and showing the settings in them.
import { drawPointsThumbnail, drawThumbnail } from "./heatmap.js";

const DATASETS = {
  classification: [["circle", "Circle"], ["xor", "Exclusive or"], ["gauss", "Gaussians"],
    ["spiral", "Spiral"]],
  regression: [["plane", "Plane"], ["reg-gauss", "Multi gaussian"]],
};

const $ = (id) => document.getElementById(id);

function onChange(id, handler) {
  $(id).addEventListener("change", (event) => handler(event.target));
}

export function bindControls(app) {
  $("play").addEventListener("click", () => app.togglePlay());
  $("step").addEventListener("click", () => app.step());
  $("reset").addEventListener("click", () => app.reset());
  $("regenerate").addEventListener("click", () => app.regenerate());
  $("add-layer").addEventListener("click", () => app.addLayer());
  $("remove-layer").addEventListener("click", () => app.removeLayer());
  $("backward-toggle").addEventListener("click", () => app.toggleBackward());
  $("heatmap").addEventListener("click", (event) => app.pickPoint(event));
  onChange("lr", (t) => app.apply({ lr: Number(t.value) }));
  onChange("activation", (t) => app.apply({
    activations: app.config.layers.map(() => t.value) }));
  onChange("regularization", (t) => app.apply({ regularization: t.value }));
  onChange("reg-rate", (t) => app.apply({ reg_rate: Number(t.value) }));
  onChange("task", (t) => app.apply({ task: t.value, dataset: DATASETS[t.value][0][0],
    loss: t.value === "regression" ? "squared_error" : app.config.loss }));
  onChange("classes", (t) => app.apply({ n_classes: Number(t.value) }));
  onChange("loss", (t) => app.apply({ loss: t.value }));
  onChange("dropout", (t) => app.apply({ dropout: Number(t.value) }));
  onChange("batch-norm", (t) => app.apply({ batch_norm: t.checked,
    batch_size: t.checked ? Math.max(app.config.batch_size, 2) : app.config.batch_size }));
  onChange("speed", (t) => app.setView({ speed: Number(t.value) }));
  onChange("show-test", (t) => app.setView({ show_test: t.checked }));
  onChange("discretize", (t) => app.setView({ discretize: t.checked }));
  onChange("ratio", (t) => app.apply({ ratio: Number(t.value) }));
  onChange("noise", (t) => app.apply({ noise: Number(t.value) }));
  onChange("batch-size", (t) => app.apply({ batch_size: Number(t.value) }));
  for (const [id, label] of [["ratio", "ratio-value"], ["noise", "noise-value"],
    ["batch-size", "batch-size-value"]]) {
    $(id).addEventListener("input", (event) => { $(label).textContent = event.target.value; });
  }
  onChange("upload-csv", (t) => {
    app.upload(t.files[0]);
    t.value = "";
  });
  $("weight-apply").addEventListener("click", () => app.submitWeight());
  $("weight-cancel").addEventListener("click", () => app.closeEditor());
  $("weight-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter") app.submitWeight();
    if (event.key === "Escape") app.closeEditor();
  });
  $("message-close").addEventListener("click", () => app.clearError());
}

function setSelect(select, value) {
  const text = String(value);
  if (![...select.options].some((o) => o.value === text)) {
    select.append(new Option(text, text));
  }
  select.value = text;
}

function datasetButtons(app) {
  const box = $("datasets");
  const { task, dataset } = app.config;
  const names = [...DATASETS[task]];
  if (dataset === "upload") names.push(["upload", "Uploaded CSV"]);
  const key = names.map((n) => n[0]).join(",");
  if (box.dataset.key !== key) {
    box.replaceChildren();
    for (const [name, title] of names) {
      const button = document.createElement("button");
      button.id = `dataset-${name}`;
      button.setAttribute("data-testid", `dataset-${name}`);
      button.className = "dataset";
      button.title = title;
      button.setAttribute("aria-label", `Data set: ${title}`);
      const canvas = document.createElement("canvas");
      canvas.width = 44;
      canvas.height = 44;
      drawThumbnail(canvas, name);
      button.append(canvas);
      button.addEventListener("click", () => app.apply({ dataset: name }));
      box.append(button);
    }
    box.dataset.key = key;
  }
  for (const button of box.querySelectorAll("button")) {
    button.classList.toggle("selected", button.id === `dataset-${dataset}`);
    button.setAttribute("aria-pressed", String(button.id === `dataset-${dataset}`));
  }
  const upload = $("dataset-upload");
  const version = app.state ? String(app.state.data_version) : "";
  if (upload && app.points && upload.dataset.version !== version) {
    drawPointsThumbnail(upload.querySelector("canvas"), app.points, task);
    upload.dataset.version = version;
  }
}

export function syncControls(app) {
  const c = app.config;
  setSelect($("lr"), c.lr);
  const same = c.activations.every((a) => a === c.activations[0]);
  $("activation").value = c.activations.length && same ? c.activations[0] : "mixed";
  $("regularization").value = c.regularization;
  setSelect($("reg-rate"), c.reg_rate);
  $("task").value = c.task;
  setSelect($("classes"), c.n_classes);
  $("classes").disabled = c.task === "regression" || c.dataset === "upload";
  $("loss").value = c.loss;
  $("loss").disabled = c.task === "regression";
  setSelect($("dropout"), c.dropout);
  $("batch-norm").checked = c.batch_norm;
  setSelect($("speed"), app.view.speed);
  $("show-test").checked = app.view.show_test;
  $("discretize").checked = app.view.discretize;
  for (const [id, value] of [["ratio", c.ratio], ["noise", c.noise],
    ["batch-size", c.batch_size]]) {
    $(id).value = value;
    $(`${id}-value`).textContent = value;
  }
  const n = c.layers.length;
  $("layer-count").textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
  $("add-layer").disabled = n >= 6;
  $("remove-layer").disabled = n === 0;
  datasetButtons(app);
}
