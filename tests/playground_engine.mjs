// Trains playground lessons with the page's engine under Node: reads a JSON list of
// {config, epochs} on stdin, writes for each the arcs [i, j, w_ij] after training.
import { readFileSync } from "node:fs";
import { LocalSession } from "../src/deltanet/playground/static/local-session.js";

const runs = JSON.parse(readFileSync(0, "utf8"));
const out = runs.map(({ config, epochs }) => {
  const session = new LocalSession(config);
  session.train(epochs);
  return { arcs: session.net.arcs(), history: session.history[session.history.length - 1] };
});
process.stdout.write(JSON.stringify(out));
