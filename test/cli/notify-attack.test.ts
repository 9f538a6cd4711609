// Routing deficiencies under attack: a local user names files so that a finding carries a line
// break, a header ("Bcc:"), markup and terminal escapes into every message and report; and an SMTP
// server that takes a message but never answers its end must not hold the run past its delivery
// budget. The built CLI against a real SMTP server and webhook receiver on 127.0.0.1.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, covenantAsync, ensureBuilt } from "../helpers/cli.ts";
import { channelsYaml } from "../helpers/notify-channels.ts";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.ts";

const HOOK_SECRET = "hook-secret-attack-77";
let smtp: TestSmtpServer;
let hook: WebhookReceiver;

beforeAll(async () => {
  ensureBuilt();
  smtp = await startSmtpServer();
  hook = await startWebhookReceiver(HOOK_SECRET);
});

afterAll(async () => {
  await smtp?.close();
  await hook?.stop();
});

/** A directory whose files are promised 0640, the policy and covenant.yaml that watch it. */
function scene(opts: { budget?: string; timeout?: string; hookUrl?: string; smsUrl?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "covenant-attack-"));
  chmodSync(dir, 0o755);
  const files = join(dir, "files");
  mkdirSync(files);
  chmodSync(files, 0o777); // anyone may make files here, as in a shared spool
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
  const password = join(dir, "smtp.pass");
  writeFileSync(password, smtp.password, { mode: 0o600 });
  const config = join(dir, "covenant.yaml");
  writeFileSync(
    config,
    `version: 1
stakeholders:
  security:
    channels: [${opts.smsUrl ? "sms" : "mail, hook"}]
    people:
      - { name: Alice Admin, email: alice@example.com, phone: "+15551230001" }
${channelsYaml({ smtp, passwordFile: password, hookUrl: opts.hookUrl ?? hook.url, smsUrl: opts.smsUrl ?? "http://127.0.0.1:9", accountSid: "AC0123456789abcdef0123456789abcdef", timeout: opts.timeout ?? "5s" })}route:
  receivers: [owners]
  group_by: [control]
  group_wait: 0s
delivery: { budget: ${opts.budget ?? "20s"}, max_attempts: 5, backoff: 1s, max_backoff: 5s, failing_after: 3 }
`,
    { mode: 0o600 },
  );
  return { dir, files, policy, config, state: join(dir, "state"), env: { TEST_HOOK_SECRET: HOOK_SECRET, TEST_TWILIO_TOKEN: "twilio-token-attack-0042" } };
}

const RAW_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/;

describe("outside text in a finding", () => {
  it("a file named with CRLF and a Bcc header, markup and escapes: no recipient added, no header forged, nothing raw on a terminal", async () => {
    const s = scene();
    const evil = "x\r\nBcc: mallory@evil.example\r\nSubject: all clear\r\n\r\n<img src=x onerror=alert(1)>\u001b]0;pwned\u0007\u202e";
    writeFileSync(join(s.files, evil), "data\n");
    chmodSync(join(s.files, evil), 0o666);
    const before = smtp.messages.length;
    const r = await covenantAsync(["run", "--state", s.state, "--config", s.config, s.policy], { env: s.env });
    expect(r.code).toBe(1);
    expect(r.out).not.toMatch(RAW_CONTROLS);
    const sent = smtp.messages.slice(before);
    expect(sent.length).toBe(1);
    expect(sent[0]!.to).toEqual(["alice@example.com"]);
    const mail = await simpleParser(sent[0]!.raw);
    expect(mail.bcc).toBeUndefined();
    expect(mail.headers.get("subject")).toBe(mail.subject);
    expect(mail.subject).toContain("T-SPOOL");
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.subject).not.toBe("all clear");
    expect(mail.html).not.toContain("<img");
    expect(mail.html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(mail.text).not.toMatch(RAW_CONTROLS);
    expect(mail.text).toContain("\\r\\nBcc: mallory@evil.example");
    // the webhook's JSON is valid and holds the name as it is
    const hooked = hook.received.filter((h) => h.body.includes("T-SPOOL")).at(-1)!;
    expect(hooked.signatureValid).toBe(true);
    expect(JSON.stringify(JSON.parse(hooked.body))).toContain("mallory@evil.example");
    // an acknowledgement's words (a person's, pasted from anywhere) are kept as written and shown escaped
    const id = (JSON.parse(covenant(["deficiencies", "--json", "--state", s.state]).out) as { id: string }[])[0]!.id;
    const ack = covenant(["ack", id, "--reason", "CHG-1\u001b[2J\r\nKEPT all clear", "--by", "bob\u001b]0;x\u0007", "--state", s.state]);
    expect(ack.code).toBe(0);
    expect(ack.out).not.toMatch(RAW_CONTROLS);
    const acked = (JSON.parse(covenant(["deficiencies", "--json", "--state", s.state]).out) as { ack: { reason: string } }[])[0]!;
    expect(acked.ack.reason).toBe("CHG-1\u001b[2J\r\nKEPT all clear");
    // every command that shows findings keeps them on their line
    for (const args of [["deficiencies"], ["deficiencies", "--all"], ["outbox", "--all"], ["history"]]) {
      const shown = covenant([...args, "--state", s.state]);
      expect(shown.out, args.join(" ")).not.toMatch(RAW_CONTROLS);
      expect(shown.out.split("\n").some((l) => l.startsWith("Bcc:") || l.startsWith("KEPT"))).toBe(false);
    }
  });
});

describe("a channel that hangs", () => {
  it("an SMTP server that never answers the end of DATA does not hold the run past its delivery budget", async () => {
    const s = scene({ budget: "2s", timeout: "6s" });
    writeFileSync(join(s.files, "open.dat"), "data\n");
    chmodSync(join(s.files, "open.dat"), 0o666);
    smtp.holdData(true);
    let took: number;
    let r: Awaited<ReturnType<typeof covenantAsync>>;
    try {
      const started = Date.now();
      r = await covenantAsync(["run", "--state", s.state, "--config", s.config, s.policy], { env: s.env });
      took = Date.now() - started;
    } finally {
      smtp.holdData(false);
    }
    expect(r.err).toBe("");
    expect(r.code).toBe(1);
    // the budget (2s) plus the run's own work; far below the channel's timeout (6s, and 3 of them for a whole send)
    expect(took).toBeLessThan(5000);
    // the message is not lost: it waits for the next run, and is not counted as sent
    const outbox = JSON.parse(covenant(["outbox", "--json", "--state", s.state]).out) as { channel: string; status: string }[];
    expect(outbox.filter((m) => m.channel === "mail").map((m) => m.status)).toEqual(["retrying"]);
  }, 60_000);
});

describe("an HTTP receiver that hangs", () => {
  it.each([["hook"], ["sms"]])("%s: takes the request and never answers: the run still ends at its delivery budget", async (channel) => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket.on("error", () => {})));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    const port = (silent.address() as { port: number }).port;
    try {
      const url = `http://127.0.0.1:${port}`;
      const s = scene({ budget: "2s", timeout: "8s", ...(channel === "hook" ? { hookUrl: `${url}/hook` } : { smsUrl: url }) });
      writeFileSync(join(s.files, "open.dat"), "data\n");
      chmodSync(join(s.files, "open.dat"), 0o666);
      const started = Date.now();
      const r = await covenantAsync(["run", "--state", s.state, "--config", s.config, s.policy], { env: s.env });
      const took = Date.now() - started;
      expect(r.err).toBe("");
      expect(r.code).toBe(1);
      expect(sockets.length).toBeGreaterThan(0);
      expect(took).toBeLessThan(6000);
      const outbox = JSON.parse(covenant(["outbox", "--json", "--state", s.state]).out) as { channel: string; status: string }[];
      expect(outbox.filter((m) => m.channel === channel).map((m) => m.status)).toEqual(["retrying"]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 60_000);
});

describe("a delivery budget longer than the run may last", () => {
  it("ends before the run's hard stop (run timeout + 30s): the run still reports and exits on its own", async () => {
    const s = scene({ budget: "2m", timeout: "45s" });
    writeFileSync(join(s.files, "open.dat"), "data\n");
    chmodSync(join(s.files, "open.dat"), 0o666);
    smtp.holdData(true);
    let r: Awaited<ReturnType<typeof covenantAsync>>;
    try {
      r = await covenantAsync(["run", "--timeout", "1s", "--state", s.state, "--config", s.config, s.policy], { env: s.env });
    } finally {
      smtp.holdData(false);
    }
    // the hard stop would end it with 2 and no report
    expect(r.err).not.toMatch(/stopped \(exit 2\)/);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/notifications:/);
    const outbox = JSON.parse(covenant(["outbox", "--json", "--state", s.state]).out) as { channel: string; status: string }[];
    expect(outbox.filter((m) => m.channel === "mail").map((m) => m.status)).toEqual(["retrying"]);
  }, 90_000);
});
