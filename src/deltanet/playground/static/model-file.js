// The page's network as a deltanet model file (deltanet/io.py): a ZIP archive of
// deltanet.json (format, version, the network's spec, metadata) and NumPy .npy arrays:
// arcs (i, j), the flat parameters in deltanet's layout, batch-norm running statistics.
// Members are stored uncompressed, each with its CRC-32.

const RAW = ["x1", "x2"];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// A .npy (version 1.0) of float64 ('<f8') or int64 ('<i8') values with the given shape.
export function npy(values, shape, descr = "<f8") {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const out = new Uint8Array(10 + header.length + 8 * values.length);
  out.set([0x93, 78, 85, 77, 80, 89, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  const view = new DataView(out.buffer, 10 + header.length);
  values.forEach((v, k) => {
    if (descr === "<i8") view.setBigInt64(8 * k, BigInt(v), true);
    else view.setFloat64(8 * k, v, true);
  });
  return out;
}

// A little-endian field of 2 or 4 bytes.
const put = (view, at, v, size) => (size === 4 ? view.setUint32(at, v, true)
  : view.setUint16(at, v, true));

// A ZIP archive of stored members {name: bytes}.
export function zip(members) {
  const enc = new TextEncoder();
  const parts = [];
  const central = [];
  let offset = 0;
  for (const [name, data] of Object.entries(members)) {
    const fileName = enc.encode(name);
    const crc = crc32(data);
    const local = new DataView(new ArrayBuffer(30));
    [[0, 0x04034b50, 4], [4, 20, 2], [12, 0x21, 2], [14, crc, 4], [18, data.length, 4],
      [22, data.length, 4], [26, fileName.length, 2]]
      .forEach(([at, v, size]) => put(local, at, v, size));
    const entry = new DataView(new ArrayBuffer(46));
    [[0, 0x02014b50, 4], [4, 20, 2], [6, 20, 2], [14, 0x21, 2], [16, crc, 4], [20, data.length, 4],
      [24, data.length, 4], [28, fileName.length, 2], [42, offset, 4]]
      .forEach(([at, v, size]) => put(entry, at, v, size));
    parts.push(new Uint8Array(local.buffer), fileName, data);
    central.push(new Uint8Array(entry.buffer), fileName);
    offset += 30 + fileName.length + data.length;
  }
  const size = central.reduce((s, p) => s + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  const count = Object.keys(members).length;
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, count, true);
  end.setUint16(10, count, true);
  end.setUint32(12, size, true);
  end.setUint32(16, offset, true);
  const all = [...parts, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
  let at = 0;
  all.forEach((p) => { out.set(p, at); at += p.length; });
  return out;
}

// The flat parameters in deltanet's layout: per layer its biases w_0j, its weights w_ij
// (row i by row), then γ and β with batch normalisation.
export function flatParams(net) {
  const out = [];
  net.layers.forEach((layer) => {
    out.push(...layer.b);
    layer.W.forEach((row) => out.push(...row));
    if (layer.bn) out.push(...layer.gamma, ...layer.beta);
  });
  return out;
}

// A generated set's table preprocessing (as download.py's): the coordinates x1, x2 as they
// are, the target "label" (classes 0..K-1, or values), so `deltanet predict` reads a CSV.
function generatedPreprocessing(config) {
  const classes = config.task === "classification"
    ? Array.from({ length: Math.max(config.n_classes, 2) }, (_, k) => String(k)) : null;
  return {
    type: "TablePreprocessor", target: "label", task: config.task, scale: "none",
    impute: null, feature_range: [-1, 1], max_classes: 8, scale_target: false,
    columns: ["x1", "x2"].map((name) => ({ name, kind: "numeric", categories: null, fill: null })),
    scaler: null, classes, target_scaler: null,
  };
}

// The table preprocessing of the inputs (as download.py's preprocessing()): the upload's
// (csv.js) or the generated set's, with the columns of the features kept, in their order.
function preprocessing(session, version) {
  const c = session.config;
  const all = c.dataset === "upload" && session.upload ? session.upload.preprocessing
    : generatedPreprocessing(c);
  const keep = c.features.map((name) => RAW.indexOf(name));
  const out = { ...all, version, columns: keep.map((k) => all.columns[k]) };
  if (all.scaler) {
    out.scaler = { ...all.scaler, data_min: keep.map((k) => all.scaler.data_min[k]),
      data_max: keep.map((k) => all.scaler.data_max[k]) };
  }
  return out;
}

// The metadata: a table model (like `deltanet train` writes) when the inputs are the raw
// coordinates x1, x2 (of a generated set or an uploaded CSV) and the page knows the format
// (the export writes it into window.DELTANET_MODEL_FORMAT); otherwise the network alone
// with its features listed.
function metadata(session) {
  const c = session.config;
  const about = { source: "deltanet playground", epoch: session.epoch, features: c.features.slice(),
    loss: session.lossName, config: { ...c } };
  const format = globalThis.DELTANET_MODEL_FORMAT;
  if (format && c.features.every((f) => RAW.includes(f))) {
    return { cli: { kind: format.kind, version: format.version,
      deltanet_version: format.deltanet_version,
      preprocessing: preprocessing(session, format.table_version), source: "deltanet playground",
      playground: about } };
  }
  return { ...about, inputs: "features of (x1, x2) in [-6, 6], in the order of 'features'" };
}

// The session's network as the bytes of a .deltanet file.
export function modelFile(session) {
  const net = session.net;
  const activations = {};
  net.layers.forEach((layer) => layer.b.forEach((_, k) => {
    activations[layer.first + k] = layer.g;
  }));
  const last = net.layers.at(-1);
  const bnLayers = net.layers.flatMap((layer, l) => (layer.bn ? [l + 1] : []));
  const header = {
    format: "deltanet-model", version: 1,
    network: { activations, batch_norm: bnLayers, dtype: "float64", n_inputs: net.sizes[0],
      outputs: Array.from(last.b, (_, k) => last.first + k) },
    metadata: metadata(session),
  };
  const arcs = net.arcs();
  const params = flatParams(net);
  const members = {
    "deltanet.json": new TextEncoder().encode(JSON.stringify(header)),
    "arcs.npy": npy(arcs.flatMap(([i, j]) => [i, j]), [arcs.length, 2], "<i8"),
    "params.npy": npy(params, [params.length]),
  };
  bnLayers.forEach((l) => {
    const layer = net.layers[l - 1];
    members[`bn${l}_mean.npy`] = npy(Array.from(layer.runMu), [layer.runMu.length]);
    members[`bn${l}_var.npy`] = npy(Array.from(layer.runVar), [layer.runVar.length]);
  });
  return zip(members);
}
