// Loads a vgsplat viewer page in headless Chromium (WebGL on SwiftShader) over the DevTools protocol,
// waits for window.vgsplat.ready and writes the canvas (window.vgsplat.snapshot()) as a PNG.
// Usage: node snapshot.cjs <chromium> <url> <out.png> [timeout seconds] [WxH]. With WxH: a screenshot of the
// whole page (panel included) at that viewport size instead. Exit 0 on success, else 1 with one line on
// stderr (page errors and console output follow it).
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const http = require("node:http");
const WebSocket = require("ws");

const [chromium, url, outPng, timeoutArg, pageSize] = process.argv.slice(2);
const timeoutMs = 1000 * Number(timeoutArg || 120);
const log = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function getJson(u) {
  return new Promise((resolve, reject) => {
    http.get(u, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
    }).on("error", reject);
  });
}

function launch(profile) {
  const args = ["--headless=new", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist", "--window-size=800,600",
    "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"];
  if (process.getuid && process.getuid() === 0) args.unshift("--no-sandbox");  // root (CI containers)
  const proc = spawn(chromium, args, { stdio: ["ignore", "ignore", "pipe"] });
  const endpoint = new Promise((resolve, reject) => {
    let err = "";
    proc.stderr.on("data", (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/[^\s]+)/.exec(err);
      if (m) resolve(new URL(m[1]));
    });
    proc.on("exit", (code) => reject(new Error(`chromium exited (${code}) before DevTools started: ${err.slice(-400)}`)));
  });
  return { proc, endpoint };
}

class Cdp {
  constructor(ws) {
    this.ws = ws;
    this.id = 0;
    this.pending = new Map();
    ws.on("message", (data) => {
      const msg = JSON.parse(data);
      if (msg.id && this.pending.has(msg.id)) {
        const { resolve, reject } = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) reject(new Error(msg.error.message)); else resolve(msg.result);
      } else if (msg.method === "Runtime.consoleAPICalled") {
        log.push(`console.${msg.params.type}: ${msg.params.args.map((a) => a.value ?? a.description).join(" ")}`);
      } else if (msg.method === "Runtime.exceptionThrown") {
        log.push(`exception: ${msg.params.exceptionDetails.exception?.description ?? msg.params.exceptionDetails.text}`);
      }
    });
  }
  send(method, params = {}) {
    const id = ++this.id;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }
  async evaluate(expr) {
    const r = await this.send("Runtime.evaluate", { expression: expr, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
    return r.result.value;
  }
}

async function run(profile) {
  const { proc, endpoint } = launch(profile);
  try {
    const ws0 = await endpoint;
    const targets = await getJson(`http://${ws0.host}/json/list`);
    const page = targets.find((t) => t.type === "page");
    if (!page) throw new Error("chromium has no page target");
    const ws = new WebSocket(page.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1 << 30 });
    await new Promise((resolve, reject) => { ws.on("open", resolve); ws.on("error", reject); });
    const cdp = new Cdp(ws);
    await cdp.send("Runtime.enable");
    await cdp.send("Page.enable");
    if (pageSize) {
      const [width, height] = pageSize.split("x").map(Number);
      await cdp.send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: false });
    }
    await cdp.send("Page.navigate", { url });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await cdp.evaluate("window.vgsplat ? (window.vgsplat.error ? 'error: ' + window.vgsplat.error : " +
                                   "(window.vgsplat.ready ? 'ready' : 'loading')) : 'no page'").catch(() => "no page");
      if (s === "ready") break;
      if (s.startsWith("error")) throw new Error(`the page failed: ${s}`);
      if (Date.now() > deadline) throw new Error(`the page was not ready after ${timeoutMs / 1000} s (${s})`);
      await sleep(250);
    }
    let png;
    if (pageSize) {
      await sleep(1000);
      png = Buffer.from((await cdp.send("Page.captureScreenshot", { format: "png" })).data, "base64");
    } else {
      const dataUrl = await cdp.evaluate("window.vgsplat.snapshot()");
      png = Buffer.from(dataUrl.slice(dataUrl.indexOf(",") + 1), "base64");
    }
    fs.writeFileSync(outPng, png);
    ws.close();
  } finally {
    const exited = new Promise((resolve) => (proc.exitCode !== null ? resolve() : proc.on("exit", resolve)));
    proc.kill("SIGKILL");
    await exited;  // the profile folder can go only once Chromium stopped writing to it
  }
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "vgsplat-chromium-"));
run(profile)
  .then(() => {
    try { fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 }); } catch {}
    process.exit(0);
  })
  .catch((e) => {
    console.error(`snapshot failed: ${e.message}`);
    for (const line of log) console.error(line);
    try { fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 }); } catch {}
    process.exit(1);
  });
