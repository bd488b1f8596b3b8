// Lesson links: a URL that fixes the data set, the network and its weights, and hides
// chosen controls (as TensorFlow Playground's `hide`).
//
//   w=...     the weights w_ij, as float64 bytes in the order of the network's arcs
//             (base64url): exact, so the link gives the very same network
//   data=...  an uploaded CSV, deflate-compressed (base64url), when the compressed text is
//             at most DATA_LINK_LIMIT characters; a larger data set goes into a lesson file
//             (JSON) that the page opens with "Open lesson file"
//   hide=...  names of controls to hide (see HIDEABLE)

export const DATA_LINK_LIMIT = 8000;
export const HIDEABLE = {
  play: "Run / pause", step: "Step", reset: "Reset", lr: "Learning rate",
  activation: "Activation", regularization: "Regularization", "reg-rate": "Reg. rate",
  task: "Problem type", classes: "Classes", loss: "Loss", dropout: "Dropout",
  "batch-norm": "Batch norm", speed: "Speed", datasets: "Data sets", ratio: "Ratio",
  noise: "Noise", "batch-size": "Batch size", regenerate: "Regenerate", upload: "Upload CSV",
  layers: "Layers and neurons", features: "Features", "show-test": "Show test data",
  discretize: "Discretize output", backward: "Backward view", download: "Download model",
  quiz: "Quiz", lesson: "Lesson link",
};

function toBase64Url(bytes) {
  let text = "";
  for (let k = 0; k < bytes.length; k += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
  }
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)),
    (c) => c.charCodeAt(0));
}

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

export async function packData(csv) {
  return toBase64Url(await pipe(new TextEncoder().encode(csv),
    new CompressionStream("deflate-raw")));
}

export async function unpackData(text) {
  try {
    return new TextDecoder().decode(await pipe(fromBase64Url(text),
      new DecompressionStream("deflate-raw")));
  } catch (err) {
    throw new Error("the link's data set is damaged (the link may have been cut short); " +
      "ask for the link again");
  }
}

// The network's weights (state.network.edges: [i, j, w] rows) as link text, and back.
export function packWeights(edges) {
  const values = Float64Array.from(edges.map((e) => e[2]));
  return toBase64Url(new Uint8Array(values.buffer));
}

export function unpackWeights(text, edges) {
  let bytes;
  try {
    bytes = fromBase64Url(text);
  } catch (err) {
    bytes = new Uint8Array(0);
  }
  if (bytes.length !== 8 * edges.length) {
    throw new Error(`the link's weights do not fit this network (${bytes.length / 8} for ` +
      `${edges.length} arcs); ask for the link again`);
  }
  const values = new Float64Array(bytes.buffer.slice(bytes.byteOffset,
    bytes.byteOffset + bytes.length));
  return edges.map((e, k) => [e[0], e[1], values[k]]);
}

// Hide the named controls (elements marked data-hide="name").
export function hideControls(names) {
  for (const node of document.querySelectorAll("[data-hide]")) {
    node.classList.toggle("lesson-hidden", names.includes(node.dataset.hide));
  }
}

// Save a lesson (its link's hash and the CSV) as a JSON file.
export function saveLessonFile(hash, csv) {
  const blob = new Blob([JSON.stringify({ deltanet_lesson: 1, hash, csv })],
    { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "lesson.json";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

export async function readLessonFile(file) {
  let lesson;
  try {
    lesson = JSON.parse(await file.text());
  } catch (err) {
    lesson = null;
  }
  if (!lesson || lesson.deltanet_lesson !== 1 || typeof lesson.hash !== "string") {
    throw new Error(`${file.name} is not a lesson file; save one with "Save lesson file"`);
  }
  return lesson;
}
