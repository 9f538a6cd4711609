// Routing deficiencies end to end, as a host runs it: the built CLI, a real SMTP server with
// STARTTLS and authentication, a signature-checking webhook receiver and the Twilio stand-in,
// all on 127.0.0.1; messages parsed with mailparser and checked field by field.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser, type ParsedMail } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, covenantAsync, ensureBuilt } from "../helpers/cli.ts";
import { channelsYaml } from "../helpers/notify-channels.ts";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server.ts";
import { startTwilioStandin, type TwilioStandin } from "../helpers/twilio-standin.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.ts";

const HOOK_SECRET = "hook-secret-5b1e";

let smtp: TestSmtpServer;
let hook: WebhookReceiver;
let twilio: TwilioStandin;

beforeAll(async () => {
  ensureBuilt();
  smtp = await startSmtpServer();
  hook = await startWebhookReceiver(HOOK_SECRET);
  twilio = await startTwilioStandin();
});

afterAll(async () => {
  await smtp?.close();
  await hook?.stop();
  await twilio?.close();
});

interface Scene {
  dir: string;
  policy: string;
  config: string;
  state: string;
  ledger: string;
  journal: string;
  env: Record<string, string>;
}

/**
 * A ledger file promised 0640 with no repair (drift while it is 0666: control T-LEDGER, owned by
 * security, told to ops too), and a journal file repaired to 0640 (a notice, control T-JOURNAL,
 * owned by ops). security is reached by email and webhook, ops by email and SMS.
 */
function scene(opts: { smsFailing?: boolean; route?: string; delivery?: string } = {}): Scene {
  const dir = mkdtempSync(join(tmpdir(), "covenant-notify-"));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, "files"));
  const ledger = join(dir, "files", "gl.dat");
  const journal = join(dir, "files", "journal.dat");
  writeFileSync(ledger, "ledger\n");
  writeFileSync(journal, "journal\n");
  chmodSync(ledger, 0o666);
  chmodSync(journal, 0o666);
  const policy = join(dir, "policy");
  mkdirSync(policy);
  writeFileSync(
    join(policy, "ledger.promise"),
    `stakeholder security { description = "Information security" }
stakeholder ops { description = "Operations" }

control "T-LEDGER" {
  title    = "The ledger is closed to others"
  owner    = security
  severity = high
  file "${ledger}" -> [ops] {
    mode = 0640
  }
}

control "T-JOURNAL" {
  title    = "The journal is closed to others"
  owner    = ops
  file "${journal}" {
    mode   = 0640
    repair = perms
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
    channels: [mail, hook]
    people:
      - { name: Alice Admin, email: alice@example.com }
  ops:
    channels: [mail, sms]
    people:
      - { name: Olga Ops, email: olga@example.com, phone: "+15551230002" }
${channelsYaml({ smtp, passwordFile: password, hookUrl: hook.url, smsUrl: opts.smsFailing ? "http://127.0.0.1:9" : twilio.url, accountSid: twilio.accountSid, smsTimeout: "3s" })}route:
  receivers: [owners]
  group_by: [control]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 4h
  send_resolved: true
${opts.route ?? ""}
delivery: ${opts.delivery ?? "{ budget: 20s, max_attempts: 5, backoff: 1s, max_backoff: 5s, failing_after: 1 }"}
`,
    { mode: 0o600 },
  );
  return { dir, policy, config, state: join(dir, "state"), ledger, journal, env: { TEST_HOOK_SECRET: HOOK_SECRET, TEST_TWILIO_TOKEN: twilio.authToken } };
}

const run = (s: Scene, ...extra: string[]) => covenantAsync(["run", "--state", s.state, "--config", s.config, ...extra, s.policy], { env: s.env });

/** Messages whose X-Covenant-Deficiency header (or body) names one of these ids, parsed. */
async function mailsAbout(ids: string[]): Promise<ParsedMail[]> {
  const parsed = await Promise.all(smtp.messages.map((m) => simpleParser(m.raw)));
  return parsed.filter((p) => ids.some((id) => String(p.headers.get("x-covenant-deficiency") ?? "").includes(id)));
}

function deficiencies(s: Scene, all = false): { id: string; control: { id: string }; status: string; notice: boolean; ack?: { by: string } }[] {
  const r = covenant(["deficiencies", "--json", "--state", s.state, ...(all ? ["--all"] : [])]);
  expect(r.err).toBe("");
  return JSON.parse(r.out);
}

describe("covenant run tells", () => {
  it("routes a drift to the control's owner and the promise's stakeholders, a repair as a notice, each once", async () => {
    const s = scene();
    const first = await run(s);
    expect(first.err).toBe("");
    expect(first.code).toBe(1);
    const open = deficiencies(s);
    expect(open.map((d) => d.control.id)).toEqual(["T-LEDGER"]);
    const id = open[0]!.id;
    expect(id).toMatch(/^d-[0-9a-z]{8}$/);
    const notice = deficiencies(s, true).find((d) => d.notice)!;
    expect(notice.control.id).toBe("T-JOURNAL");
    // the report says who was told, by which channel, per deficiency
    expect(first.out).toMatch(/notifications:/);
    expect(first.out).toContain(id);
    expect(first.out).toMatch(/alice@example\.com> by mail \(sent\)/);

    const ledgerMails = await mailsAbout([id]);
    expect(ledgerMails.map((m) => (m.to as { value: { address: string; name: string }[] }).value[0]!).sort((a, b) => a.address.localeCompare(b.address))).toEqual([{ address: "alice@example.com", name: "Alice Admin" }, { address: "olga@example.com", name: "Olga Ops" }]);
    const mail = ledgerMails[0]!;
    expect(mail.subject).toContain("T-LEDGER");
    expect(mail.subject).toContain("HIGH");
    expect(mail.text).toContain("The ledger is closed to others");
    expect(mail.text).toContain(s.ledger);
    expect(mail.text).toContain("mode = 0640");
    expect(mail.text).toContain(`covenant ack ${id}`);
    expect(typeof mail.html).toBe("string");
    expect(mail.messageId).toMatch(/^<m-[0-9a-z]+@/);
    expect(String(mail.references ?? "")).toContain(`${id}@`);
    // the notice went to the journal's owner only, marked as a notice
    const noticeMails = await mailsAbout([notice.id]);
    expect(noticeMails).toHaveLength(1);
    expect((noticeMails[0]!.to as { text: string }).text).toContain("olga@example.com");
    expect(noticeMails[0]!.subject).toMatch(/NOTICE|repaired/i);
    // the SMS to ops, and the signed webhook to security
    expect(twilio.messages.filter((m) => m.body.includes("T-LEDGER"))).toHaveLength(1);
    const hooks = hook.received.filter((h) => h.body.includes(id));
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.signatureValid).toBe(true);
    expect(JSON.parse(hooks[0]!.body)).toMatchObject({ version: 1, kind: "opened", deficiencies: [{ id, status: "open" }] });

    // a second run that changes nothing tells nothing (once per group and repeat interval, not per run)
    const before = { mails: smtp.messages.length, sms: twilio.messages.length, hooks: hook.received.length };
    const second = await run(s);
    expect(second.code).toBe(1);
    expect({ mails: smtp.messages.length, sms: twilio.messages.length, hooks: hook.received.length }).toEqual(before);
    expect(deficiencies(s).map((d) => d.id)).toEqual([id]);
    // and its report says they were told already, not that they will be told later
    expect(second.out).toMatch(/alice@example\.com> by mail \(already told\)/);
    expect(second.out).not.toMatch(/\(later\)/);

    // delivered messages are evidence: in the history, and in the outbox's sent list
    const history = covenant(["history", "--json", "--state", s.state]);
    const records = JSON.parse(history.out) as { kind: string; body: { status?: string; channel?: string } }[];
    expect(records.filter((r) => r.kind === "delivery" && r.body.status === "sent").length).toBeGreaterThanOrEqual(5);
    expect(covenant(["verify", "--state", s.state]).code).toBe(0);
    expect(covenant(["outbox", "--state", s.state]).out).toContain("nothing waiting");
  });

  it("takes an acknowledgement into the history and later messages, and tells the resolution in the same thread", async () => {
    const s = scene();
    await run(s);
    const id = deficiencies(s)[0]!.id;
    const ack = covenant(["ack", id.slice(0, 6), "--reason", "CHG-1234: fixing tonight", "--by", "alice", "--state", s.state]);
    expect(ack.err).toBe("");
    expect(ack.code).toBe(0);
    expect(ack.out).toContain(`acknowledged ${id}`);
    expect(deficiencies(s)[0]!.ack?.by).toBe("alice");
    const history = JSON.parse(covenant(["history", "--json", "--state", s.state]).out) as { kind: string; body: Record<string, unknown> }[];
    const record = history.find((r) => r.kind === "ack")!;
    expect(record.body).toMatchObject({ deficiency: id, reason: "CHG-1234: fixing tonight", by: "alice" });
    expect(covenant(["verify", "--state", s.state]).code).toBe(0);

    chmodSync(s.ledger, 0o640);
    await new Promise((r) => setTimeout(r, 1100)); // group_interval: a changed group is told again after it
    const fixed = await run(s);
    expect(fixed.code).toBe(0);
    expect(deficiencies(s)).toEqual([]);
    const thread = await mailsAbout([id]);
    const toAlice = thread.filter((m) => (m.to as { text: string }).text.includes("alice@"));
    expect(toAlice.length).toBe(2);
    const resolved = toAlice.find((m) => /RESOLVED/i.test(m.subject ?? ""))!;
    expect(resolved).toBeDefined();
    expect(resolved.text).toContain("alice");
    expect(resolved.inReplyTo).toBe(toAlice.find((m) => m !== resolved)!.messageId);
    // acknowledging what is resolved is refused
    const late = covenant(["ack", id, "--reason", "too late", "--state", s.state]);
    expect(late.code).toBe(2);
    expect(late.err).toMatch(/resolved/);
  });

  it("keeps what an SMTP server that is down cannot take, retries it, and delivers it once when it is back", async () => {
    const s = scene();
    await smtp.stop();
    try {
      const first = await run(s);
      expect(first.code).toBe(1);
      expect(first.out).toMatch(/retrying/);
      const id = deficiencies(s)[0]!.id;
      const outbox = JSON.parse(covenant(["outbox", "--json", "--state", s.state]).out) as { status: string; channel: string; deficiencies: string[] }[];
      expect(outbox.filter((m) => m.channel === "mail").every((m) => m.status === "retrying")).toBe(true);
      expect(outbox.some((m) => m.deficiencies.includes(id))).toBe(true);
      // a second run while it is still down: still waiting, nothing lost, nothing doubled
      await run(s);
      const again = JSON.parse(covenant(["outbox", "--json", "--state", s.state]).out) as { id: string }[];
      expect(new Set(again.map((m) => m.id)).size).toBe(again.length);
    } finally {
      await smtp.start();
    }
    const id = deficiencies(s)[0]!.id;
    const later = new Date(Date.now() + 60_000).toISOString();
    const flush = await covenantAsync(["notify", "flush", "--state", s.state, "--config", s.config, "--now", later], { env: s.env });
    expect(flush.err).toBe("");
    expect(flush.code).toBe(0);
    const mails = await mailsAbout([id]);
    expect(mails.map((m) => (m.to as { value: { address: string; name: string }[] }).value[0]!).sort((a, b) => a.address.localeCompare(b.address))).toEqual([{ address: "alice@example.com", name: "Alice Admin" }, { address: "olga@example.com", name: "Olga Ops" }]);
    expect(covenant(["outbox", "--state", s.state]).out).toContain("nothing waiting");
  });

  it("delivers after a run killed with SIGKILL once it recorded a drift, with the same message id", async () => {
    const s = scene();
    // the server takes the message but never answers its end: the run is killed mid-delivery
    smtp.holdData(true);
    try {
      await covenantAsync(["run", "--state", s.state, "--config", s.config, s.policy], {
        env: s.env,
        onStart: (child) => {
          const poll = setInterval(() => {
            if (smtp.held() > 0) {
              clearInterval(poll);
              child.kill("SIGKILL");
            }
          }, 10);
        },
      });
    } finally {
      smtp.holdData(false);
    }
    const heldIds = smtp.heldMessageIds();
    expect(heldIds.length).toBeGreaterThan(0);
    // the drift was recorded, and its notice waits in the outbox
    const id = deficiencies(s)[0]!.id;
    const next = await covenantAsync(["notify", "flush", "--state", s.state, "--config", s.config, "--now", new Date(Date.now() + 60_000).toISOString()], { env: s.env });
    expect(next.code).toBe(0);
    const delivered = await Promise.all(smtp.messages.map((m) => simpleParser(m.raw)));
    for (const held of heldIds) expect(delivered.map((m) => m.messageId)).toContain(held);
    expect((await mailsAbout([id])).length).toBeGreaterThan(0);
  });

  it("sends nothing from a dry run and shows who would have been told; --notify sends", async () => {
    const s = scene();
    const before = smtp.messages.length;
    const dry = await run(s, "--dry-run");
    expect(dry.code).toBe(1);
    expect(dry.out).toMatch(/nothing sent/);
    expect(dry.out).toMatch(/security by mail \(would be told\)/);
    expect(smtp.messages.length).toBe(before);
    const json = JSON.parse((await run(s, "--dry-run", "--json")).out);
    expect(json.run.notifications.mode).toBe("preview");
    const sent = await run(s, "--dry-run", "--notify");
    expect(sent.code).toBe(1);
    expect(smtp.messages.length).toBeGreaterThan(before);
  });

  it("sends at once from a dry run given --notify, a group_wait longer than the budget notwithstanding", async () => {
    const s = scene();
    writeFileSync(s.config, readFileSync(s.config, "utf8").replace("group_wait: 0s", "group_wait: 1h"), { mode: 0o600 });
    const before = hook.received.length;
    const sent = await run(s, "--dry-run", "--notify", "--json");
    expect(sent.code).toBe(1);
    const told = (JSON.parse(sent.out).run.notifications.deficiencies as { told: { status: string }[] }[]).flatMap((d) => d.told.map((t) => t.status));
    expect(told).toContain("sent");
    expect(told).not.toContain("later");
    expect(hook.received.length).toBeGreaterThan(before);
    // what a dry run sends is a test, and says so: its deficiencies were never recorded
    expect(hook.received.slice(before).map((h) => (JSON.parse(h.body) as { kind: string }).kind)).toEqual(hook.received.slice(before).map(() => "test"));
  });

  it("says nobody was told when there is no configuration", async () => {
    const s = scene();
    const r = await covenantAsync(["run", "--state", s.state, s.policy], { cwd: s.dir, env: s.env });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/notifications are not configured: nobody was told/);
  });

  it("refuses a bad configuration before evaluating anything", async () => {
    const s = scene();
    writeFileSync(s.config, "version: 1\nstakeholders:\n  security:\n    chanels: [mail]\n", { mode: 0o600 });
    const r = await run(s);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/covenant\.yaml:4:5: error E3\d\d/);
    expect(r.err).toMatch(/channels/);
    expect(r.out).toBe("");
  });

  it("makes a channel that keeps failing a deficiency of its own, told through the other channels", async () => {
    const s = scene({ smsFailing: true });
    const r = await run(s);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/channel sms keeps failing/);
    const own = deficiencies(s).find((d) => d.control.id === "covenant.notify");
    expect(own).toBeDefined();
    // the run's report shows it among the deficiencies told
    expect(r.out).toContain(own!.id);
    const mails = await mailsAbout([own!.id]);
    expect(mails.some((m) => (m.to as { text: string }).text.includes("olga@example.com"))).toBe(true);
  });
});

describe("covenant notify test", () => {
  it("sends a test message through each of a stakeholder's channels and says what each did", async () => {
    const s = scene();
    const before = { mails: smtp.messages.length, hooks: hook.received.length };
    const r = await covenantAsync(["notify", "test", "--to", "security", "--config", s.config], { env: s.env });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^sent {2}mail → Alice Admin <alice@example\.com>: /m);
    expect(r.out).toMatch(/^sent {2}hook → security: /m);
    expect(smtp.messages.length).toBe(before.mails + 1);
    expect(hook.received.length).toBe(before.hooks + 1);
    const mail = await simpleParser(smtp.messages.at(-1)!.raw);
    expect(mail.subject).toMatch(/test/i);
    expect(hook.received.at(-1)!.signatureValid).toBe(true);
    // it records nothing: there is no store to record in
    expect(covenant(["deficiencies", "--state", s.state]).code).toBe(2);
  });

  it("says which channel failed and why (exit 1), and refuses an unknown stakeholder or channel (exit 2)", async () => {
    const s = scene({ smsFailing: true });
    const failed = await covenantAsync(["notify", "test", "--to", "ops", "--channel", "sms", "--config", s.config, "--json"], { env: s.env });
    expect(failed.code).toBe(1);
    const results = JSON.parse(failed.out) as { channel: string; to: string; ok: boolean; detail: string }[];
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ channel: "sms", ok: false });
    // named by the address the channel uses: a phone number, not the person's email
    expect(results[0]!.to).toMatch(/<\+\d+>$/);
    expect(results[0]!.detail).not.toContain(twilio.authToken);
    const unknown = await covenantAsync(["notify", "test", "--to", "nobody", "--config", s.config], { env: s.env });
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/no stakeholder `nobody`.*security, ops/);
    const channel = await covenantAsync(["notify", "test", "--to", "ops", "--channel", "hook", "--config", s.config], { env: s.env });
    expect(channel.code).toBe(2);
    expect(channel.err).toMatch(/has no channel `hook`/);
  });
});

describe("covenant ack refuses what would bloat every later message", () => {
  it("a reason over 1,000 characters or a name over 100 is refused (exit 2), and nothing is recorded", async () => {
    const s = scene();
    await run(s);
    const id = deficiencies(s)[0]!.id;
    const long = covenant(["ack", id, "--reason", `CHG-1 ${"x".repeat(1000)}`, "--state", s.state]);
    expect(long.code).toBe(2);
    expect(long.err).toMatch(/--reason is 1006 characters; at most 1000/);
    const name = covenant(["ack", id, "--reason", "CHG-1", "--by", "y".repeat(101), "--state", s.state]);
    expect(name.code).toBe(2);
    expect(name.err).toMatch(/--by is 101 characters; at most 100/);
    expect(deficiencies(s)[0]!.ack).toBeUndefined();
    const history = JSON.parse(covenant(["history", "--json", "--state", s.state]).out) as { kind: string }[];
    expect(history.some((r) => r.kind === "ack")).toBe(false);
    expect(covenant(["ack", id, "--reason", "x".repeat(1000), "--state", s.state]).code).toBe(0);
  });
});
