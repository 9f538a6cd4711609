// The email channel against a real SMTP server on 127.0.0.1 (test/helpers/smtp-server.ts):
// STARTTLS and implicit TLS with a certificate trusted only through ca_file, AUTH, the message
// parsed back with mailparser field by field, threading, and each kind of failure.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser, type ParsedMail } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmailChannel } from "../../src/config/types.js";
import type { Channel } from "../../src/notifiers/contract.js";
import { idDomain, threadHeaders } from "../../src/notifiers/email.js";
import { makeChannel } from "../../src/notifiers/registry.js";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server.js";
import { testContext } from "./context.js";
import { emailConfig } from "./harnesses/email.js";
import { deficiency, message } from "./messages.js";

let smtp: TestSmtpServer;
let dir: string;
let passwordFile: string;
const channels: Channel[] = [];

beforeAll(async () => {
  smtp = await startSmtpServer();
  dir = mkdtempSync(join(tmpdir(), "covenant-email-"));
  passwordFile = join(dir, "smtp.pass");
  writeFileSync(passwordFile, `${smtp.password}\n`, { mode: 0o600 });
});

afterAll(async () => {
  for (const c of channels) await c.close();
  await smtp.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = (overrides: Partial<EmailChannel> = {}): EmailChannel => emailConfig(smtp, { file: passwordFile }, overrides);

async function channel(overrides: Partial<EmailChannel> = {}): Promise<Channel> {
  const c = await makeChannel(config(overrides), testContext());
  channels.push(c);
  return c;
}

async function lastMail(): Promise<ParsedMail> {
  return simpleParser(smtp.messages.at(-1)!.raw);
}

describe("the email channel", () => {
  it("sends over STARTTLS with AUTH, and the message says what it must, field by field", async () => {
    const before = smtp.messages.length;
    const result = await (await channel()).send(message());
    expect(result).toMatchObject({ ok: true, providerId: expect.stringMatching(/^250 .*queued as Q\d+/) });
    expect(smtp.messages.length).toBe(before + 1);
    const got = smtp.messages.at(-1)!;
    expect(got).toMatchObject({ from: "covenant@ledger-01.example.com", to: ["alice@example.com"], user: "covenant", secure: true });

    const mail = await lastMail();
    expect(mail.subject).toBe("[covenant] CRITICAL ITGC-AC-01 on ledger-01: 1 deficiency — mode is 0644, promised 0640");
    expect(mail.from?.value).toEqual([{ address: "covenant@ledger-01.example.com", name: "Covenant" }]);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value : []).toEqual([{ address: "alice@example.com", name: "Alice Admin" }]);
    expect(mail.messageId).toBe("<m-0123456789abcdef@ledger-01.covenant>");
    expect(mail.inReplyTo).toBe("<d-7k3q9m2x@ledger-01.covenant>");
    expect(mail.references).toBe("<d-7k3q9m2x@ledger-01.covenant>");
    expect(mail.date?.toISOString()).toBe("2026-12-05T09:00:30.000Z");
    expect(mail.headers.get("x-covenant-deficiency")).toBe("d-7k3q9m2x");
    expect(mail.headers.get("x-covenant-kind")).toBe("opened");
    expect(mail.headers.get("auto-submitted")).toBe("auto-generated");
    expect(mail.text).toContain("Control:          ITGC-AC-01: Ledger configuration is protected");
    expect(mail.text).toContain("History record:   312 (opened at record 310)");
    expect(mail.text).toContain('To acknowledge:   covenant ack d-7k3q9m2x --reason "..."');
    expect(mail.html).toContain("<th align=\"left\" valign=\"top\">Promised</th><td>mode = 0640<br>owner = root</td>");
  });

  it("threads every message about one group: the same roots, each replying to the one before", async () => {
    const c = await channel();
    const d = deficiency();
    const sent = [
      message({ id: "m-aaaaaaaaaaaaaaaa", kind: "opened", previous: [] }),
      message({ id: "m-bbbbbbbbbbbbbbbb", kind: "updated", previous: ["m-aaaaaaaaaaaaaaaa"], deficiencies: [{ ...d, outcome: "error" }] }),
      message({ id: "m-cccccccccccccccc", kind: "resolved", previous: ["m-aaaaaaaaaaaaaaaa", "m-bbbbbbbbbbbbbbbb"], deficiencies: [{ ...d, status: "resolved", resolvedBy: "kept" }] }),
    ];
    const mails: ParsedMail[] = [];
    for (const m of sent) {
      expect((await c.send(m)).ok).toBe(true);
      mails.push(await lastMail());
    }
    const refs = (m: ParsedMail) => (Array.isArray(m.references) ? m.references : m.references ? [m.references] : []);
    expect(mails.map((m) => m.messageId)).toEqual(["<m-aaaaaaaaaaaaaaaa@ledger-01.covenant>", "<m-bbbbbbbbbbbbbbbb@ledger-01.covenant>", "<m-cccccccccccccccc@ledger-01.covenant>"]);
    expect(mails.map((m) => m.inReplyTo)).toEqual(["<d-7k3q9m2x@ledger-01.covenant>", "<m-aaaaaaaaaaaaaaaa@ledger-01.covenant>", "<m-bbbbbbbbbbbbbbbb@ledger-01.covenant>"]);
    expect(refs(mails[2]!)).toEqual(["<d-7k3q9m2x@ledger-01.covenant>", "<m-aaaaaaaaaaaaaaaa@ledger-01.covenant>", "<m-bbbbbbbbbbbbbbbb@ledger-01.covenant>"]);
    for (const m of mails) expect(refs(m)[0]).toBe("<d-7k3q9m2x@ledger-01.covenant>");
    expect(mails[2]!.subject).toMatch(/^\[covenant\] RESOLVED /);
  });

  it("a resend carries the same Message-ID", async () => {
    const c = await channel();
    const m = message({ id: "m-resend0000000000" });
    await c.send(m);
    const first = await lastMail();
    await c.send(m);
    const second = await lastMail();
    expect(second.messageId).toBe(first.messageId);
    expect(second.text).toBe(first.text);
  });

  it("makes ids from a host name that is outside text", () => {
    expect(idDomain("Ledger 01\n<x>")).toBe("ledger-01--x.covenant");
    expect(idDomain("..")).toBe("localhost.covenant");
    const t = threadHeaders(message({ host: "a b", deficiencies: [] }));
    expect(t).toEqual({ messageId: "<m-0123456789abcdef@a-b.covenant>", inReplyTo: "<control-ITGC-AC-01@a-b.covenant>", references: [] });
  });

  it("speaks implicit TLS", async () => {
    const smtps = await startSmtpServer({ implicitTls: true });
    try {
      const pass = join(dir, "smtps.pass");
      writeFileSync(pass, smtps.password);
      const c = await makeChannel(config({ port: smtps.port, tls: "implicit", caFile: smtps.caFile, auth: { user: smtps.user, password: { file: pass } } }), testContext());
      expect(await c.send(message())).toMatchObject({ ok: true });
      await c.close();
      expect(smtps.messages).toHaveLength(1);
      expect(smtps.messages[0]!.secure).toBe(true);
    } finally {
      await smtps.close();
    }
  });

  it("refuses a server whose certificate it cannot trust, naming why", async () => {
    const r = await (await channel({ caFile: undefined })).send(message());
    expect(r).toMatchObject({ ok: false, retryable: true });
    expect(!r.ok && r.error).toMatch(/smtp 127\.0\.0\.1:\d+: .*(self[- ]signed|certificate)/i);
  });

  it("a wrong password is permanent, and the error does not hold it", async () => {
    const pass = join(dir, "wrong.pass");
    writeFileSync(pass, "Wr0ng-password-value");
    const r = await (await channel({ auth: { user: smtp.user, password: { file: pass } } })).send(message());
    expect(r).toMatchObject({ ok: false, retryable: false });
    expect(!r.ok && r.error).toMatch(/EAUTH: 535/);
    expect(JSON.stringify(r)).not.toContain("Wr0ng-password-value");
    expect(JSON.stringify(r)).not.toContain(Buffer.from("Wr0ng-password-value").toString("base64"));
  });

  it("a server that repeats the password in its reply: the error is scrubbed of it", async () => {
    const careless = await startSmtpServer({ echoCredentials: true });
    try {
      const pass = join(dir, "echoed.pass");
      writeFileSync(pass, "Echoed-Pa55word");
      const c = await makeChannel(config({ port: careless.port, caFile: careless.caFile, auth: { user: "covenant", password: { file: pass } } }), testContext());
      const r = await c.send(message());
      await c.close();
      expect(r).toEqual({ ok: false, retryable: false, error: expect.stringMatching(/^smtp 127\.0\.0\.1:\d+: EAUTH: 535 Authentication failed for covenant with password \[redacted\]$/) });
    } finally {
      await careless.close();
    }
  });

  it("550 for the mailbox is permanent, 451 is worth a retry", async () => {
    const c = await channel();
    smtp.rejectRecipient("bob@example.com", 550);
    const bob = message({ person: { name: "Bob", email: "bob@example.com" } });
    expect(await c.send(bob)).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/550 Mailbox unavailable/) });
    smtp.rejectAll(451);
    try {
      expect(await c.send(message())).toMatchObject({ ok: false, retryable: true, error: expect.stringMatching(/451 Try again later/) });
    } finally {
      smtp.rejectAll(undefined);
    }
    expect((await c.send(message())).ok).toBe(true);
  });

  it("a server that is down is worth a retry; once up again the same channel delivers", async () => {
    const c = await channel();
    expect((await c.send(message())).ok).toBe(true);
    await smtp.stop();
    try {
      const r = await c.send(message());
      expect(r).toMatchObject({ ok: false, retryable: true });
      expect(!r.ok && r.error).toMatch(/ECONNREFUSED/);
    } finally {
      await smtp.start();
    }
    expect((await c.send(message())).ok).toBe(true);
  });

  it("a server that never greets times out, worth a retry", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const port = (silent.address() as { port: number }).port;
      const started = Date.now();
      const r = await (await channel({ port, timeoutMs: 300 })).send(message());
      expect(r).toMatchObject({ ok: false, retryable: true, error: expect.stringMatching(/ETIMEDOUT/) });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it("a person without an address cannot be mailed (permanent)", async () => {
    const r = await (await channel()).send(message({ person: { name: "Carol", phone: "+15551230002" } }));
    expect(r).toEqual({ ok: false, retryable: false, error: "no email address for Carol" });
  });

  it("cannot be made without its ca_file, and says which", async () => {
    await expect(makeChannel(config({ caFile: join(dir, "missing.pem") }), testContext())).rejects.toThrow(/channel mail: ca_file: the CA file .*missing\.pem cannot be read/);
  });
});
