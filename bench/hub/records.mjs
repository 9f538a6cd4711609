// The records a simulated host pushes, taken from a real store: policies/sox-itgc (209 promises,
// its real keys and text) run every 5 minutes through the real StateStore, as a host's
// `covenant run` records it, with bench/store's drift rate (each run one promise starts an
// incident and the previous one ends: 2 change records a run), an email about every sixth
// incident delivered and recorded (a "delivery" record), and an acknowledgement about every
// hundredth run (an "ack" record). The store is then read back record by record (the real
// ledger rows, their real MACs) and cut into pushes as a host sends them: everything after one
// run's summary up to and including the next one's. Made in a RAM disk: generating is setup.
//
// Each simulated host replays this history from its first record, renumbered as its own store
// would number it (the records of one store already start at 1), with its own host name and with
// every time in it moved so that the run it pushes has just finished (the clock is compressed:
// see run.mjs). The MACs are replaced by random 64 hex digits: the hub cannot check them.
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const MINUTE = 60_000;
const START = Date.parse("2026-11-23T00:00:00.000Z");
export const TEMPLATE_HOST = "ledger-db-01.example.com";

async function policyOf(lib) {
  const dir = resolve("policies/sox-itgc");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".promise"))
    .sort()
    .map((f) => ({ path: `/etc/covenant/sox-itgc/${f}`, text: readFileSync(join(dir, f), "utf8") }));
  const checked = lib.checkFiles(files.map((f) => lib.parseSource(f.path, f.text)), [], { today: "2026-11-23" });
  if (!checked.policy) throw new Error("policies/sox-itgc does not check");
  const keys = lib.promiseKeys(checked.policy).map((k) => ({
    key: k.key,
    control: k.control.id,
    title: k.control.title ?? k.control.id,
    owner: k.control.owner,
    severity: k.control.severity ?? "medium",
    type: k.promise.type,
    promiser: String(k.key.slice(k.key.indexOf(":") + 1)),
    line: 1 + (k.promise.span?.start ?? 0) % 400,
  }));
  return { files, keys, hash: lib.hashPolicy(files) };
}

function base(p, extra) {
  return { key: p.key, control: p.control, type: p.type, promiser: p.promiser, notes: [], stakeholders: ["itgc_security"], file: "/etc/covenant/sox-itgc/access.promise", line: p.line, durationMs: 0.4, ...extra };
}

const kept = (p) => base(p, { outcome: "kept", reason: "as promised", differences: [], changes: [] });

/** An incident fitting the promise's type: some repaired at once, the others drift (bench/store's rule). */
function incident(p, n) {
  const pr = p.promiser;
  const drift = (attribute, expected, observed, reason) => base(p, { outcome: "drift", reason, differences: [{ subject: pr, attribute, expected, observed, reason }], changes: [] });
  const repaired = (attribute, expected, observed, reason, change, description) =>
    base(p, { outcome: "repaired", reason: `repaired: ${description}`, differences: [{ subject: pr, attribute, expected, observed, reason }], changes: [{ change, description, status: "applied" }] });
  switch (p.type) {
    case "sysctl":
      return repaired("value", "0", "1", `${pr} is 1, promised 0`, { op: "sysctl", key: pr, value: "0" }, `sysctl ${pr}=0`);
    case "file":
    case "directory":
      return n % 2 ? repaired("mode", "0600", "0644", `${pr}: mode is 0644, promised 0600`, { op: "chmod", path: pr, mode: 0o600 }, `chmod 0600 ${pr}`) : drift("owner", "root", "backup", `${pr}: owner is backup, promised root`);
    case "service":
      return repaired("active", "active", "inactive (dead)", `${pr} is inactive (dead), promised active`, { op: "systemctl", verb: "restart", unit: pr }, `systemctl restart ${pr}`);
    case "package":
      return drift("version", ">= 1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u2", `${pr} 1:9.2p1-2+deb12u2 is installed, promised >= 1:9.2p1-2+deb12u3`);
    case "account":
      return drift("shell", "/usr/sbin/nologin", "/bin/bash", `account ${pr}: shell is /bin/bash, promised /usr/sbin/nologin`);
    default:
      return drift("value", "as promised", `changed in incident ${n}`, `${pr}: the setting differs from what is promised (incident ${n}: found "PermitRootLogin yes", promised "no")`);
  }
}

function findingOf(p) {
  return { host: TEMPLATE_HOST, control: { id: p.control, title: p.title, ...(p.owner ? { owner: p.owner } : {}), severity: p.severity, key: false }, promise: { stakeholders: ["itgc_security"], dependsOn: [], file: "/etc/covenant/sox-itgc/access.promise", line: p.line }, promised: [`${p.type} ${p.promiser} as written`] };
}

function counts(results) {
  const c = {};
  for (const r of results) c[r.outcome] = (c[r.outcome] ?? 0) + 1;
  return c;
}

/** An email about a deficiency, as routing plans it; delivered at once and recorded. */
function mailAbout(d, k, clock) {
  const id = `m-${k.toString(36).padStart(8, "0")}`;
  return {
    channel: "mail",
    dueAt: clock,
    message: {
      id,
      kind: "opened",
      route: "itgc-security",
      groupKey: `control=${d.control.id}`,
      groupLabels: { control: d.control.id },
      previous: [],
      recipient: "itgc_security/mail/secops@example.com",
      host: TEMPLATE_HOST,
      deficiencies: [d],
      stakeholder: { name: "itgc_security", channels: ["mail"], people: [{ name: "SecOps", email: "secops@example.com" }] },
      person: { name: "SecOps", email: "secops@example.com" },
      createdAt: new Date(clock).toISOString(),
    },
  };
}

/**
 * A real store's history of `runs` runs, cut into pushes. Returns { pushes, stats }: each push a
 * list of { kind, run, time, body, mac } as the ledger holds them, and the time its run finished.
 */
export async function recordTemplates({ runs = 400, log = () => {} } = {}) {
  const lib = await import(resolve("dist/index.js"));
  const policy = await policyOf(lib);
  const ram = join("/dev/shm", `covenant-hubbench-${process.pid}`);
  rmSync(ram, { recursive: true, force: true });
  mkdirSync(ram, { mode: 0o700 });
  const store = lib.StateStore.open(ram);
  const finished = [];
  const stats = { runs, acks: 0, deliveries: 0 };
  try {
    for (let k = 0; k < runs; k++) {
      const clock = START + k * 5 * MINUTE;
      const run = store.beginRun();
      const results = policy.keys.map(kept);
      const next = k > 0 ? (k * 37) % policy.keys.length : undefined;
      if (next !== undefined) results[next] = incident(policy.keys[next], k);
      results.forEach((r, i) => store.recordResult(run, new Date(clock + 20 + i * 3).toISOString(), r, () => findingOf(policy.keys[i])));
      const end = clock + 20 + results.length * 3 + 15;
      store.finishRun({ run, host: TEMPLATE_HOST, started: new Date(clock).toISOString(), finished: new Date(end).toISOString(), policy: policy.hash, dryRun: false, promises: results.length, counts: counts(results), outcomes: lib.outcomesDigest(results) }, policy.files, results.map((r) => r.key));
      finished.push(end);
      // routing after the run: every event seen; about every sixth incident mails its owner
      const ws = store.notificationWorkingSet();
      const opened = next !== undefined && results[next].outcome === "drift" ? ws.deficiencies.find((d) => d.key === results[next].key && d.status === "open") : undefined;
      const mail = opened && k % 6 === 1 ? mailAbout(opened, k, end + 1000) : undefined;
      store.savePlan({ messages: mail ? [mail] : [], groups: [], dropped: [], routedEvents: ws.events });
      if (mail) {
        store.recordDelivery(mail.message.id, { status: "sent", at: new Date(end + 1800).toISOString(), providerId: `250 2.0.0 OK queued as ${k.toString(16).toUpperCase()}A7F3` });
        stats.deliveries++;
      }
      if (opened && k % 100 === 1) {
        store.acknowledge(opened.id, { at: new Date(end + 90_000).toISOString(), reason: `known: change ticket CHG-${4000 + k}, fix at the next window`, by: "alice", user: "root", loginUid: 1000 });
        stats.acks++;
      }
      if (k % 100 === 0) log(`  template store: run ${k} of ${runs}`);
    }
    const head = store.records(1, Number.MAX_SAFE_INTEGER);
    const pushes = [];
    let current = [];
    let r = 0;
    for (const rec of head) {
      current.push({ seq: rec.seq, kind: rec.kind, run: rec.run, time: rec.time, body: rec.body, mac: rec.mac });
      if (rec.kind === "run") {
        pushes.push({ records: current, finished: finished[r++] });
        current = [];
      }
    }
    // what came after the last summary (a delivery, an acknowledgement) goes with the last push
    if (current.length) pushes.at(-1).records.push(...current);
    stats.records = head.length;
    stats.kinds = {};
    for (const rec of head) stats.kinds[rec.kind] = (stats.kinds[rec.kind] ?? 0) + 1;
    return { pushes, stats, policyBytes: policy.files.reduce((n, f) => n + Buffer.byteLength(f.text), 0), promises: policy.keys.length };
  } finally {
    store.close();
    rmSync(ram, { recursive: true, force: true });
  }
}
