// bench/notify: 1,000 deficiencies across 50 controls and 10 stakeholders found by one
// `covenant run`, delivered through a real SMTP server, the Twilio stand-in (the real twilio
// client) and a webhook receiver, all on 127.0.0.1. Measures the time from the end of
// evaluation (the run report's `finished`) to the last delivery, the messages sent per channel
// (grouping: at most one per stakeholder per group), and the run's peak RSS. In the same run,
// the real Alertmanager (Debian prometheus-alertmanager) is given the same 1,000 deficiencies as
// alerts (grouped by control, routed by owner, one SMTP receiver per stakeholder) and timed from
// the POST to its last email at the same SMTP server.
//
// Goals (issue 14): all delivered within 5 s, at most one message per stakeholder per group,
// peak RSS within 80 MB.
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { commandEnv, ensureDebianTool, median, table } from "../lib.mjs";
import { startSmtp, startTwilio, startWebhook } from "./servers.mjs";
import { startAlertmanager } from "./alertmanager.mjs";

const runs = Number(process.env.BENCH_RUNS ?? 5);
const N = 1000;
const CONTROLS = 50;
const STAKEHOLDERS = 10;
const work = resolve("bench/.work/notify");
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, "files"), { recursive: true });

const sName = (i) => `s${String(i % STAKEHOLDERS).padStart(2, "0")}`;
const cName = (c) => `BENCH-NOTIFY-${String(c).padStart(2, "0")}`;

/** 1,000 ledger-like files at 0666, promised 0640 with no repair declared: 1,000 drifts. */
function writePolicy() {
  const lines = [];
  for (let s = 0; s < STAKEHOLDERS; s++) lines.push(`stakeholder ${sName(s)} { description = "bench stakeholder ${s}" }`);
  const per = N / CONTROLS;
  for (let c = 0; c < CONTROLS; c++) {
    lines.push("", `control "${cName(c)}" {`, `  title    = "Ledger batch ${c} is closed to others"`, `  owner    = ${sName(c)}`, "  severity = high", "");
    for (let i = 0; i < per; i++) {
      const f = join(work, "files", `f${c}-${i}.dat`);
      writeFileSync(f, `ledger ${c} ${i}\n`);
      chmodSync(f, 0o666);
      lines.push(`  file "${f}" -> [${sName(c + 1 + (i % 2))}] {`, "    mode = 0640", "  }");
    }
    lines.push("}");
  }
  mkdirSync(join(work, "policy"), { recursive: true });
  writeFileSync(join(work, "policy", "bench.promise"), lines.join("\n") + "\n");
}

function writeConfig(ports) {
  const people = (s) => `    people:\n      - { name: "Person ${s}", email: "${sName(s)}@example.com", phone: "+1555000${String(s).padStart(4, "0")}" }`;
  const stakeholders = Array.from({ length: STAKEHOLDERS }, (_, s) => `  ${sName(s)}:\n    channels: [mail, sms, hook]\n${people(s)}`).join("\n");
  const yaml = `version: 1
stakeholders:
${stakeholders}
channels:
  mail: { type: email, host: 127.0.0.1, port: ${ports.smtp}, tls: none, from: "Covenant <covenant@bench.example>" }
  sms: { type: twilio, account_sid: AC00000000000000000000000000000000, auth_token_env: BENCH_TWILIO_TOKEN, from: "+15550009999", api_url: "http://127.0.0.1:${ports.twilio}" }
  hook: { type: webhook, url: "http://127.0.0.1:${ports.webhook}/covenant", secret_env: BENCH_HOOK_SECRET }
route:
  receivers: [owners]
  group_by: [control]
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
delivery: { budget: 60s }
`;
  const path = join(work, "covenant.yaml");
  writeFileSync(path, yaml, { mode: 0o600 });
  return path;
}

/** Runs argv under /usr/bin/time without blocking this process (the receivers answer meanwhile). */
function timed(argv, env) {
  return new Promise((res) => {
    const t = process.hrtime.bigint();
    const child = spawn("/usr/bin/time", ["-f", "%M", ...argv], { env, stdio: ["ignore", "pipe", "pipe"] });
    const out = [];
    const err = [];
    child.stdout.on("data", (c) => out.push(c));
    child.stderr.on("data", (c) => err.push(c));
    child.on("close", (status) => {
      const stderr = Buffer.concat(err).toString();
      res({ status, ms: Number(process.hrtime.bigint() - t) / 1e6, stdout: Buffer.concat(out).toString(), stderr, rssKB: Number(/(\d+)\s*$/.exec(stderr)?.[1] ?? 0) });
    });
  });
}

async function covenantOnce(config, servers, i) {
  for (const s of Object.values(servers)) s.received.length = 0;
  const state = mkdtempSync(join(work, `state-${i}-`));
  const env = { ...commandEnv, BENCH_TWILIO_TOKEN: "bench-token", BENCH_HOOK_SECRET: "bench-secret" };
  const r = await timed(["bin/covenant", "run", "--json", "--state", state, "--config", config, join(work, "policy")], env);
  if (r.status !== 1) throw new Error(`covenant run exited ${r.status}:\n${r.stderr.slice(0, 3000)}`);
  const report = JSON.parse(r.stdout);
  const drift = report.summary.outcomes.drift;
  if (drift !== N) throw new Error(`expected ${N} drifts, got ${drift}`);
  const finished = Date.parse(report.run.finished);
  const all = [...servers.smtp.received, ...servers.twilio.received, ...servers.webhook.received];
  const last = Math.max(...all.map((m) => m.at));
  const lastMail = Math.max(...servers.smtp.received.map((m) => m.at));
  // at most one message per stakeholder (recipient) per group (control): the subject names the control
  const perGroup = new Map();
  for (const m of servers.smtp.received) {
    const control = /BENCH-NOTIFY-\d+/.exec(m.subject ?? "")?.[0] ?? "?";
    const k = `${m.to.join(",")}|${control}`;
    perGroup.set(k, (perGroup.get(k) ?? 0) + 1);
  }
  const worst = Math.max(0, ...perGroup.values());
  const deficienciesInHooks = servers.webhook.received.reduce((n, m) => n + m.deficiencies, 0);
  return { deliveredMs: last - finished, mailMs: lastMail - finished, wallMs: r.ms, rssKB: r.rssKB, mails: servers.smtp.received.length, sms: servers.twilio.received.length, hooks: servers.webhook.received.length, deficienciesInHooks, worstPerGroup: worst };
}

async function alertmanagerOnce(am, smtp) {
  smtp.received.length = 0;
  const startsAt = new Date().toISOString();
  const alerts = [];
  for (let c = 0; c < CONTROLS; c++) {
    for (let i = 0; i < N / CONTROLS; i++) {
      // each round's controls are new groups to Alertmanager, as a new run's deficiencies are to Covenant
      alerts.push({ labels: { alertname: "CovenantDeficiency", control: `${cName(c)}-r${am.round}`, owner: sName(c), severity: "high", host: "bench", deficiency: `d-${c}-${i}-${am.round}` }, annotations: { summary: `file f${c}-${i}.dat: mode 0666, promised 0640` }, startsAt });
    }
  }
  am.round++;
  const t0 = Date.now();
  const res = await fetch(`${am.url}/api/v2/alerts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(alerts) });
  if (!res.ok) throw new Error(`Alertmanager refused the alerts: ${res.status} ${await res.text()}`);
  const deadline = Date.now() + 20_000;
  while (smtp.received.length < CONTROLS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  if (smtp.received.length < CONTROLS) throw new Error(`Alertmanager sent ${smtp.received.length} of ${CONTROLS} emails in 20 s; its log:\n${am.log().slice(-3000)}`);
  return { deliveredMs: Math.max(...smtp.received.map((m) => m.at)) - t0, mails: smtp.received.length };
}

writePolicy();
const servers = { smtp: await startSmtp(), twilio: await startTwilio(), webhook: await startWebhook() };
const config = writeConfig({ smtp: servers.smtp.port, twilio: servers.twilio.port, webhook: servers.webhook.port });
const amSmtp = await startSmtp();
const hasAm = ensureDebianTool("prometheus-alertmanager", "prometheus-alertmanager");
const am = hasAm ? await startAlertmanager(work, amSmtp.port, STAKEHOLDERS, sName) : undefined;
try {
  const cov = [];
  const peer = [];
  for (let i = 0; i <= runs; i++) {
    const c = await covenantOnce(config, servers, i);
    const a = am ? await alertmanagerOnce(am, amSmtp) : undefined;
    if (i === 0) continue; // warm-up
    cov.push(c);
    if (a) peer.push(a);
  }
  const m = (xs, f) => median(xs.map(f));
  const last = cov[cov.length - 1];
  console.log(table([
    ["", "delivered (end of evaluation → last delivery)", "emails", "SMS", "webhooks", "max per stakeholder per group", "peak RSS", "run wall"],
    ["covenant run", `${m(cov, (x) => x.deliveredMs).toFixed(0)} ms (emails ${m(cov, (x) => x.mailMs).toFixed(0)} ms)`, last.mails, last.sms, last.hooks, last.worstPerGroup, `${(Math.max(...cov.map((x) => x.rssKB)) / 1024).toFixed(0)} MB`, `${m(cov, (x) => x.wallMs).toFixed(0)} ms`],
    ...(peer.length ? [["alertmanager", `${m(peer, (x) => x.deliveredMs).toFixed(0)} ms (POST → last email)`, peer[peer.length - 1].mails, "-", "-", 1, "-", "-"]] : []),
  ]));
  if (peer.length) console.log(`ratio (alertmanager / covenant, emails): ${(m(peer, (x) => x.deliveredMs) / m(cov, (x) => x.mailMs)).toFixed(2)}x`);
  const goals = { within5s: Math.max(...cov.map((x) => x.deliveredMs)) <= 5000, onePerGroup: cov.every((x) => x.worstPerGroup <= 1), rss80: Math.max(...cov.map((x) => x.rssKB)) <= 80 * 1024 };
  console.log(`goals: delivered within 5 s ${goals.within5s ? "met" : "NOT met"}; at most one message per stakeholder per group ${goals.onePerGroup ? "met" : "NOT met"}; peak RSS within 80 MB ${goals.rss80 ? "met" : "NOT met"}`);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, "results.json"), JSON.stringify({ date: new Date().toISOString(), covenant: cov, alertmanager: peer, goals }, null, 2));
} finally {
  await am?.stop();
  for (const s of [...Object.values(servers), amSmtp]) await s.stop();
}
