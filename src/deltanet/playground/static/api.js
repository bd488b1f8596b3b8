// Talking to the playground server: one session per tab, its id kept in sessionStorage.
// A session the server no longer knows (restart, expiry) is replaced transparently: a new
// one is created and the page's settings are sent again before the request is retried.

import { LocalApi } from "./local-api.js";

const KEY = "deltanet-session";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export class Api {
  constructor(getConfig) {
    // The static export has no server: the page's own engine answers the same requests.
    if (globalThis.DELTANET_STATIC) return new LocalApi(getConfig);
    this.getConfig = getConfig;     // () => the page's current settings (for recovery)
    this.sid = sessionStorage.getItem(KEY);
    this.dataVersion = null;        // version of the points the page holds
    // A duplicated tab inherits sessionStorage: tabs answer whether they use an id.
    this.channel = new BroadcastChannel("deltanet-sessions");
    this.channel.onmessage = (event) => {
      if (event.data.ask && event.data.ask === this.sid && !this.checking) {
        this.channel.postMessage({ mine: this.sid });
      }
    };
  }

  // Keep the stored session id only if no other open tab is using it.
  async checkSession() {
    if (!this.sid) return;
    this.checking = true;
    const taken = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 150);
      const listen = (event) => {
        if (event.data.mine === this.sid) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      this.channel.addEventListener("message", listen);
      this.channel.postMessage({ ask: this.sid });
      setTimeout(() => this.channel.removeEventListener("message", listen), 200);
    });
    this.checking = false;
    if (taken) this.sid = null;
  }

  url(path) {
    const sep = path.includes("?") ? "&" : "?";
    const version = this.dataVersion === null ? "" : `${sep}data_version=${this.dataVersion}`;
    return `/api/session/${this.sid}/${path}${version}`;
  }

  // The per-launch token the server wrote into the page: without it the API refuses.
  headers() {
    const token = document.querySelector('meta[name="deltanet-token"]');
    return { "X-Deltanet-Token": token ? token.content : "" };
  }

  // The model file as a Blob and its file name (a plain link cannot send the token).
  async modelFile() {
    const response = await fetch(this.modelUrl(), { headers: this.headers() });
    if (!response.ok) throw new ApiError(response.status, response.statusText);
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || "playground.deltanet";
    return { blob: await response.blob(), name };
  }

  async fetchJson(method, url, body, contentType = "application/json") {
    const init = { method, headers: this.headers() };
    if (body !== undefined) {
      init.body = contentType === "application/json" ? JSON.stringify(body) : body;
      init.headers["Content-Type"] = contentType;
    }
    const response = await fetch(url, init);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (err) {
      data = { error: text.slice(0, 200) };
    }
    if (!response.ok) {
      throw new ApiError(response.status, (data && data.error) || response.statusText);
    }
    return data;
  }

  async newSession() {
    const data = await this.fetchJson("POST", "/api/session", {});
    this.sid = data.session;
    sessionStorage.setItem(KEY, this.sid);
    this.dataVersion = null;
    return data.state;
  }

  // POST or GET on the session; recreate the session once if the server lost it.
  async call(method, path, body, contentType) {
    if (!this.sid) await this.newSession();
    try {
      return await this.fetchJson(method, this.url(path), body, contentType);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404 || path === "config") throw err;
      await this.newSession();
      await this.fetchJson("POST", this.url("config"), this.getConfig());
      this.dataVersion = null;
      return this.fetchJson(method, this.url(path), body, contentType);
    }
  }

  async configure(config) {
    if (!this.sid) await this.newSession();
    try {
      return this.track(await this.fetchJson("POST", this.url("config"), config));
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
      await this.newSession();
      return this.track(await this.fetchJson("POST", this.url("config"), config));
    }
  }

  track(state) {
    if (state && state.points) this.dataVersion = state.data_version;
    return state;
  }

  async state() { return this.track(await this.call("GET", "state")); }
  async step(epochs) { return this.track(await this.call("POST", "step", { epochs })); }
  async reset() { return this.track(await this.call("POST", "reset", {})); }
  async setWeight(i, j, value) {
    return this.track(await this.call("POST", "weight", { i, j, value }));
  }
  async setWeights(edges) {
    return this.track(await this.call("POST", "weights", { weights: edges }));
  }
  async backward(x, y) { return this.call("POST", "backward", { x, y }); }
  async upload(csvText) {
    this.dataVersion = null;
    return this.track(await this.call("POST", "upload", csvText, "text/csv"));
  }
  modelUrl() { return `/api/session/${this.sid}/model`; }

  // A failure as one sentence for the person at the page.
  describe(err) {
    if (!(err instanceof ApiError)) {
      const text = err && err.message ? err.message : String(err);
      if (err instanceof TypeError && /fetch/i.test(text)) {
        return "The playground server cannot be reached: is 'deltanet playground' still " +
          "running? Start it again and reload the page.";
      }
      return sentence(text);
    }
    if (err.status === 409) {
      return "The server is still busy with this page's previous request; try again in a moment.";
    }
    if (err.status === 413) return "That file is too large for the playground (1 MB at most).";
    if (err.status >= 500) return "The server failed on this request; press Reset and try again.";
    return sentence(err.message);
  }
}

// "the CSV has 2 rows; give at least 4" -> "The CSV has 2 rows; give at least 4."
function sentence(text) {
  const clean = String(text).trim();
  const first = clean.charAt(0).toUpperCase() + clean.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
