// The built CLI under attack through its SMS channel and its JSON report: a Twilio-compatible
// server (api_url) whose replies Twilio would not send, and a reader of `covenant run --json`
// that stops early (`covenant run --json | head -c 100`). Needs dist (node scripts/build.mjs).
import { spawn } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, covenant, covenantAsync, ensureBuilt } from "../helpers/cli.ts";
import { startTwilioStandin, type TwilioStandin } from "../helpers/twilio-standin.ts";

let standin: TwilioStandin;

beforeAll(async () => {
  ensureBuilt();
  standin = await startTwilioStandin();
});

afterAll(async () => {
  await standin?.close();
});

/** `files` world-writable files promised 0640, and a covenant.yaml texting security through `smsUrl`. */
function scene(smsUrl: string, opts: { files?: number; accountSid?: string; token?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "covenant-sms-attack-"));
  chmodSync(dir, 0o755);
  const files = join(dir, "files");
  mkdirSync(files);
  const policy = join(dir, "policy");
  mkdirSync(policy);
  writeFileSync(
    join(policy, "spool.promise"),
    `stakeholder security { description = "Information security" }

control "T-SPOOL" {
  title    = "The spool is closed to others"
  owner    = security
  severity = high
  file "${files}/*" {
    mode = 0640
  }
}
`,
  );
  for (let i = 0; i < (opts.files ?? 1); i++) {
    writeFileSync(join(files, `f${i}.dat`), "x");
    chmodSync(join(files, `f${i}.dat`), 0o666);
  }
  const config = join(dir, "covenant.yaml");
  writeFileSync(
    config,
    `version: 1
stakeholders:
  security:
    channels: [sms]
    people:
      - { name: Alice Admin, email: alice@example.com, phone: "+15551230001" }
channels:
  sms:
    type: twilio
    account_sid: ${opts.accountSid ?? "AC0123456789abcdef0123456789abcdef"}
    auth_token_env: TEST_TWILIO_TOKEN
    from: "+15550000000"
    api_url: ${smsUrl}
    timeout: 5s
route:
  receivers: [owners]
  group_by: [control]
  group_wait: 0s
delivery: { budget: 20s, max_attempts: 5, backoff: 1s, max_backoff: 5s, failing_after: 3 }
`,
    { mode: 0o600 },
  );
  return { dir, policy, config, state: join(dir, "state"), env: { TEST_TWILIO_TOKEN: opts.token ?? "f00dfeed1234abcd5678ef90c0ffee42" } };
}

/** A server on 127.0.0.1 that answers every request with `status` and `body`. */
async function answering(status: number, body: string): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      hits++;
      res.writeHead(status, { "content-type": "application/json" }).end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, hits: () => hits };
}

async function closing(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

describe("a Twilio-compatible server's replies, through the built CLI", () => {
  it("a 201 whose sid is a number: the run still reports, exits 1, and records the text as sent", async () => {
    // the channel returns providerId 5; the store's oneLine calls 5.replace inside the delivery
    // transaction: TypeError, `covenant: internal error`, exit 3, no report, and the text Twilio
    // took stays pending, so it is sent again by every run (and every text of its batch too)
    const twilio = await answering(201, JSON.stringify({ sid: 5, status: "queued" }));
    try {
      const s = scene(twilio.url);
      const r = await covenantAsync(["run", "--state", s.state, "--config", s.config, s.policy], { env: s.env });
      expect(twilio.hits()).toBe(1);
      expect(r.err).not.toMatch(/internal error/);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/notifications:/);
      const outbox = JSON.parse(covenant(["outbox", "--all", "--json", "--state", s.state]).out) as { status: string }[];
      expect(outbox.map((m) => m.status)).toEqual(["sent"]);
    } finally {
      await closing(twilio.server);
    }
  }, 60_000);

  it("an error reply whose message is null: `covenant notify test` says the channel failed (exit 1), not an internal error (exit 3)", async () => {
    const twilio = await answering(400, JSON.stringify({ code: 21211, message: null, status: 400 }));
    try {
      const s = scene(twilio.url);
      const r = await covenantAsync(["notify", "test", "--to", "security", "--config", s.config], { env: s.env });
      expect(r.err).not.toMatch(/internal error/);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/failed/);
    } finally {
      await closing(twilio.server);
    }
  }, 60_000);

  it("an error reply whose message is null: `covenant run` gives a permanent refusal (21211) up, not retried as a channel failure", async () => {
    const twilio = await answering(400, JSON.stringify({ code: 21211, message: null, status: 400 }));
    try {
      const s = scene(twilio.url);
      const r = await covenantAsync(["run", "--state", s.state, "--config", s.config, s.policy], { env: s.env });
      expect(r.code).toBe(1);
      expect(r.out).not.toMatch(/the channel failed unexpectedly/);
      const outbox = JSON.parse(covenant(["outbox", "--all", "--json", "--state", s.state]).out) as { status: string }[];
      // given up, not retried; the channel giving up is itself told (covenant.notify), and given up too
      expect(new Set(outbox.map((m) => m.status))).toEqual(new Set(["given-up"]));
    } finally {
      await closing(twilio.server);
    }
  }, 60_000);
});

describe("`covenant run --json` read by a reader that stops early", () => {
  it("exits as a deficient run does (1), releases its lock and leaves no note for the next run", async () => {
    // the report (3000 differences, ~900 KB) is written in 64 KiB chunks, each awaited; the
    // reader closes the pipe after 100 bytes; EPIPE ends the process from io.ts's handler with
    // `process.exitCode ?? 0` (0: nothing set it yet) before runGuarded's `finally` releases
    // run.lock and before the store is closed. Before this session's change the report was one
    // write, made after the run had finished: exit 1, lock released.
    const s = scene(standin.url, { files: 3000, accountSid: standin.accountSid, token: standin.authToken });
    const before = standin.messages.length;
    const { NO_COLOR: _n, FORCE_COLOR: _f, ...base } = process.env;
    const r = await new Promise<{ code: number | null; err: string; read: number }>((resolve, reject) => {
      const child = spawn(bin, ["run", "--json", "--state", s.state, "--config", s.config, s.policy], { env: { ...base, ...s.env }, stdio: ["ignore", "pipe", "pipe"] });
      let read = 0;
      let err = "";
      child.stdout.on("data", (c: Buffer) => {
        read += c.length;
        if (read >= 100) child.stdout.destroy(); // `| head -c 100`
      });
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, err, read }));
    });
    // what held: the text was sent and its delivery recorded before the report, no stack trace
    expect(standin.messages.length).toBe(before + 1);
    const outbox = JSON.parse(covenant(["outbox", "--all", "--json", "--state", s.state]).out) as { status: string }[];
    expect(outbox.map((m) => m.status)).toEqual(["sent"]);
    expect(r.err).not.toMatch(/\n\s+at /);
    // what broke
    expect(existsSync(join(s.state, "run.lock")), "run.lock left behind").toBe(false);
    expect(r.code, "the exit code of a run with deficiencies").toBe(1);
    const next = covenant(["run", "--state", s.state, "--config", s.config, s.policy], { env: s.env });
    expect(next.out).not.toMatch(/took over the run lock left by a run that is gone/);
  }, 90_000);

  it("a report written to a full disk (/dev/full): no stack trace, no bundle source on stderr, run.lock released", async () => {
    // `covenant run --json > /var/log/covenant/run.json` on a full /var: stdout is a file, written
    // with writeSync; ENOSPC reaches io.ts's handler, which rethrows what is not EPIPE from the
    // 'error' event: an uncaught exception (a line of the minified bundle, a stack trace) while
    // runGuarded still holds the lock. Before this session's change: exit 1, nothing on stderr,
    // lock released.
    const s = scene(standin.url, { accountSid: standin.accountSid, token: standin.authToken });
    const { NO_COLOR: _n, FORCE_COLOR: _f, ...base } = process.env;
    const full = openSync("/dev/full", "w");
    const r = await new Promise<{ code: number | null; err: string }>((resolve, reject) => {
      const child = spawn(bin, ["run", "--json", "--state", s.state, "--config", s.config, s.policy], { env: { ...base, ...s.env }, stdio: ["ignore", full, "pipe"] });
      let err = "";
      child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, err }));
    });
    closeSync(full);
    const outbox = JSON.parse(covenant(["outbox", "--all", "--json", "--state", s.state]).out) as { status: string }[];
    expect(outbox.map((m) => m.status)).toEqual(["sent"]);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.err.length, r.err.slice(0, 300)).toBeLessThan(1000);
    expect(existsSync(join(s.state, "run.lock")), "run.lock left behind").toBe(false);
  }, 60_000);

  it("a reader that never reads: the run is over (lock released, records whole, verify clean) while its report waits for the reader", async () => {
    // the JSON report is written once the run has ended, as the reader takes it: like any command
    // writing to a pipe, the process waits for a reader that does not read (`| less`), but the
    // run's lock is released and its records are complete meanwhile, and the hard stop (meant for
    // a stuck run) does not cut the report of a finished one
    const s = scene(standin.url, { files: 3000, accountSid: standin.accountSid, token: standin.authToken });
    const { NO_COLOR: _n, FORCE_COLOR: _f, ...base } = process.env;
    const child = spawn(bin, ["run", "--json", "--timeout", "1s", "--state", s.state, "--config", s.config, s.policy], { env: { ...base, ...s.env }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pause(); // never read: the pipe fills
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      // the run's records come first; then its lock goes
      const deadline = Date.now() + 60_000;
      let kinds: string[] = [];
      while (Date.now() < deadline) {
        kinds = existsSync(join(s.state, "state.db")) ? (JSON.parse(covenant(["history", "--json", "--state", s.state]).out || "[]") as { kind: string }[]).map((h) => h.kind) : [];
        if (kinds.includes("delivery") && !existsSync(join(s.state, "run.lock"))) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      // the policy version and the roster of its promises are recorded with the run's summary, before it
      expect(kinds).toEqual(["change", "policy", "roster", "run", "delivery"]);
      expect(existsSync(join(s.state, "run.lock"))).toBe(false);
      expect(covenant(["verify", "--state", s.state]).code).toBe(0);
      // past the timeout and its 30 s of grace, the process still waits for its reader, uncut
      await new Promise((r) => setTimeout(r, 32_000));
      expect(child.exitCode).toBe(null);
      // another run is not kept out meanwhile
      const next = covenant(["run", "--state", s.state, "--config", s.config, s.policy], { env: s.env });
      expect(next.err).not.toMatch(/holds the lock/);
      // read at last: the whole report arrives and the run's own status is its exit
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stdout.resume();
      expect(await closed).toBe(1);
      const report = JSON.parse(out) as { run: { run: number }; summary: { promises: number } };
      expect(report.run.run).toBe(1);
      expect(out.length).toBeGreaterThan(500_000);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 120_000);
});
