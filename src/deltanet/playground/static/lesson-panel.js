// The page's lesson controls: "Copy lesson link" (with the controls the link hides),
// "Save lesson file" for a data set too large for a link, and "Open lesson file".
import { hashOf } from "./hash.js";
import {
  DATA_LINK_LIMIT, HIDEABLE, hideControls, packData, packWeights, readLessonFile,
  saveLessonFile, unpackData, unpackWeights,
} from "./lesson.js";

const $ = (id) => document.getElementById(id);

export class LessonPanel {
  constructor(app) {
    this.app = app;
    this.packed = null;   // the uploaded CSV, compressed for a link
    const box = $("lesson-hide");
    for (const [name, label] of Object.entries(HIDEABLE)) {
      const item = document.createElement("label");
      const check = document.createElement("input");
      check.type = "checkbox";
      check.value = name;
      check.dataset.testid = `hide-${name}`;
      check.setAttribute("data-testid", `hide-${name}`);
      item.append(check, ` ${label}`);
      box.append(item);
    }
    $("copy-lesson").addEventListener("click", () => this.copy());
    $("save-lesson").addEventListener("click", () => this.save());
    $("open-lesson").addEventListener("change", (event) => {
      this.open(event.target.files[0]);
      event.target.value = "";
    });
  }

  // Hide the link's controls on this page, and tick them for the next link.
  hide(names) {
    hideControls(names);
    for (const check of $("lesson-hide").querySelectorAll("input")) {
      check.checked = names.includes(check.value);
    }
  }

  chosenHidden() {
    return [...$("lesson-hide").querySelectorAll("input:checked")].map((c) => c.value);
  }

  async setData(csv) {
    this.packed = await packData(csv);
  }

  unpack(text) {
    this.packed = text;
    return unpackData(text);
  }

  weights(text, state) {
    return unpackWeights(text, state.network.edges);
  }

  dataFits() {
    return !this.packed || this.packed.length <= DATA_LINK_LIMIT;
  }

  // The lesson parts of a hash: hidden controls, the data (when uploaded and small
  // enough) and, for a lesson link, the weights.
  linkParts(withWeights, hide = this.app.lessonHide) {
    const upload = this.app.config.dataset === "upload";
    return { hide, data: upload && this.dataFits() ? this.packed : null,
      w: withWeights && this.app.state ? packWeights(this.app.state.network.edges) : null };
  }

  link() {
    const hash = hashOf(this.app.config, this.app.view, this.linkParts(true, this.chosenHidden()));
    return location.origin + location.pathname + hash;
  }

  async copy() {
    const url = this.link();
    const field = $("lesson-link");
    field.value = url;
    field.hidden = false;
    const note = $("lesson-note");
    const tooLarge = this.app.config.dataset === "upload" && !this.dataFits();
    // Said at once: the clipboard may take its time (or ask the person first).
    note.textContent = tooLarge ? `The data set is too large for a link (${this.packed.length} ` +
      `characters compressed, the limit is ${DATA_LINK_LIMIT}): use "Save lesson file" and ` +
      "share the file." : "The lesson link is in the box above.";
    try {
      await navigator.clipboard.writeText(url);
      if (!tooLarge) note.textContent = "Lesson link copied.";
    } catch (err) {
      if (!tooLarge) note.textContent = "Select the link above and copy it.";
      field.select();
    }
  }

  save() {
    const { config, view, csv } = this.app;
    const parts = { hide: this.chosenHidden(), w: this.linkParts(true).w };
    saveLessonFile(hashOf(config, view, parts), config.dataset === "upload" ? csv : null);
  }

  async open(file) {
    if (!file) return;
    try {
      const lesson = await readLessonFile(file);
      if (lesson.csv) await this.app.uploadText(lesson.csv, true);
      this.app.written = null;
      await this.app.openHash(lesson.hash);
    } catch (err) {
      this.app.showError(err);
    }
  }
}
