// One load generator of bench/hub, in a worker thread: a share of the simulated hosts, each with
// its own Ed25519 key, enrolled with a real one-time token, then pushing its next run's records
// (records.mjs) signed, over HTTPS with a keep-alive agent. Pushes are sent open-loop, on a
// schedule (the j-th push of a step is due at start + j / rate, the hosts taken in turn), so that
// a slow hub is seen as latency from the time a push was due, not as a slower schedule. A host
// sends one push at a time: one due while its last is unanswered waits for it (as a host does).
import { generateKeyPairSync } from "node:crypto";
import { Agent, request } from "node:https";
import { parentPort, workerData } from "node:worker_threads";
import { accepted, makePushBuilder } from "./push-builder.mjs";

const { libPath, url, ca, templates, templateHost, maxSockets } = workerData;
const lib = await import(libPath);
const agent = new Agent({ keepAlive: true, maxSockets, ca });
const target = new URL(url);
const nextPush = makePushBuilder(lib, templates, templateHost);
const hosts = [];
let cursor = 0;

function post(path, bytes, headers) {
  return new Promise((resolve) => {
    const req = request({ host: target.hostname, port: target.port, path, method: "POST", agent, headers: { "content-type": "application/json", "content-length": String(bytes.length), ...headers } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        let body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          body = {};
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on("error", (err) => resolve({ status: 0, body: { message: err.message } }));
    });
    req.on("error", (err) => resolve({ status: 0, body: { message: err.code ?? err.message } }));
    req.end(bytes);
  });
}

/** Sends a host's next push; returns what happened, the host moved on when the hub took it. */
async function pushOnce(h) {
  const p = nextPush(h);
  const sent = performance.now();
  const r = await post("/v1/push", p.bytes, { "covenant-host": h.id, "covenant-signature": p.signature });
  const done = performance.now();
  const ok = r.status === 200 && r.body.stored === p.records && r.body.holds?.seq === p.seq;
  if (ok) accepted(h, p);
  return { ok, status: r.status, message: ok ? undefined : String(r.body.message ?? r.body.reason ?? ""), sent, done, bytes: p.bytes.length, records: p.records };
}

async function enroll({ names, tokens, concurrency }) {
  const out = { enrolled: 0, firstPushes: 0, errors: [], firstPushMs: [], firstPushBytes: 0, firstPushRecords: 0 };
  let i = 0;
  async function one() {
    while (i < names.length) {
      const k = i++;
      const { privateKey, publicKey } = generateKeyPairSync("ed25519");
      const h = { name: names[k], id: "", privateKey, fingerprint: lib.fingerprintOf(publicKey), seq: 0, chain: null, next: 0, busy: false, waiting: [] };
      const body = { protocol: lib.PROTOCOL, version: lib.PROTOCOL_VERSION, kind: "enroll", token: tokens[k], name: h.name, publicKey: lib.rawPublicKey(publicKey).toString("base64"), sentAt: new Date().toISOString() };
      const bytes = lib.encodeBody(body);
      const r = await post("/v1/enroll", bytes, { "covenant-signature": lib.signBody(bytes, privateKey) });
      if (r.status !== 201) {
        out.errors.push(`enrol ${h.name}: ${r.status} ${r.body.message ?? ""}`);
        continue;
      }
      h.id = r.body.host;
      h.chain = lib.hubChainStart(h.id);
      out.enrolled++;
      const first = await pushOnce(h);
      if (!first.ok) {
        out.errors.push(`first push of ${h.name}: ${first.status} ${first.message}`);
        continue;
      }
      out.firstPushes++;
      out.firstPushMs.push(first.done - first.sent);
      out.firstPushBytes += first.bytes;
      out.firstPushRecords += first.records;
      hosts.push(h);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, one));
  return out;
}

async function step({ rate, seconds, startAt, drainMs }) {
  const n = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const start = startAt - Date.now() + performance.now();
  const fromDue = new Float64Array(n);
  const service = new Float64Array(n);
  const res = { scheduled: n, completed: 0, ok: 0, errors: {}, firstErrors: [], bytes: 0, records: 0, lastDoneAt: 0, maxInFlight: 0, hostsQueued: 0 };
  let inFlight = 0;
  let finished = 0;
  let wake;
  const settle = (h, due, r) => {
    const k = finished++;
    fromDue[k] = r.done - due;
    service[k] = r.done - r.sent;
    res.completed++;
    res.lastDoneAt = Math.max(res.lastDoneAt, r.done - start);
    if (r.ok) {
      res.ok++;
      res.bytes += r.bytes;
      res.records += r.records;
    } else {
      const key = String(r.status);
      res.errors[key] = (res.errors[key] ?? 0) + 1;
      if (res.firstErrors.length < 5) res.firstErrors.push(`${r.status} ${r.message}`);
    }
  };
  const send = (h, due) => {
    h.busy = true;
    inFlight++;
    res.maxInFlight = Math.max(res.maxInFlight, inFlight);
    void pushOnce(h).then((r) => {
      inFlight--;
      settle(h, due, r);
      const queued = h.waiting.shift();
      if (queued !== undefined) send(h, queued);
      else h.busy = false;
      if (finished === n) wake?.();
    });
  };
  for (let j = 0; j < n; ) {
    const now = performance.now();
    const due = start + j * interval;
    if (due > now) {
      await new Promise((r) => setTimeout(r, Math.min(due - now, 50)));
      continue;
    }
    for (; j < n && start + j * interval <= now; j++) {
      const h = hosts[cursor++ % hosts.length];
      if (h.busy) {
        res.hostsQueued++;
        h.waiting.push(start + j * interval);
      } else send(h, start + j * interval);
    }
  }
  if (finished < n) {
    await Promise.race([new Promise((r) => (wake = r)), new Promise((r) => setTimeout(r, drainMs))]);
  }
  res.unfinished = n - finished;
  res.fromDue = fromDue.slice(0, finished);
  res.service = service.slice(0, finished);
  return res;
}

parentPort.on("message", async (m) => {
  if (m.kind === "enroll") parentPort.postMessage({ kind: "enrolled", ...(await enroll(m)) });
  else if (m.kind === "step") parentPort.postMessage({ kind: "stepped", ...(await step(m)) });
  else if (m.kind === "stop") {
    agent.destroy();
    parentPort.close();
  }
});
parentPort.postMessage({ kind: "ready" });
