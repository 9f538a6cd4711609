// The webhook channel against a real receiver on 127.0.0.1: the signature verifies as the docs
// say to verify it, the payload matches the docs' JSON Schema, a resend carries the same id, and
// timeouts, redirects, rate limits and refusals each end as the docs say.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { WebhookChannel } from "../../src/config/types.js";
import type { Delivery } from "../../src/notifiers/contract.js";
import { deliveryOf, retryAfterMs } from "../../src/notifiers/http.js";
import { createChannel, signature } from "../../src/notifiers/webhook.js";
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from "../helpers/webhook-receiver.js";
import { context, deficiency, HOSTILE, message, secretFile } from "./hooks-fixtures.js";

const SECRET = "whsec-test-3c1f0e7a9b5d";
const doc = readFileSync(new URL("../../docs/channels/webhook.md", import.meta.url), "utf8");

/** the JSON Schema as docs/channels/webhook.md gives it (the block marked webhook-payload.schema.json) */
function schemaFromDocs(): object {
  const block = /```json webhook-payload\.schema\.json\n([\s\S]*?)\n```/.exec(doc);
  if (!block) throw new Error("docs/channels/webhook.md has no webhook-payload.schema.json block");
  return JSON.parse(block[1]!) as object;
}

function validator() {
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
  ajv.addFormat("date-time", { validate: (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)) });
  return ajv.compile(schemaFromDocs());
}

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
});
afterAll(async () => {
  await receiver.stop();
});
afterEach(() => {
  receiver.mode = "ok";
  receiver.received.length = 0;
});

function config(overrides: Partial<WebhookChannel> = {}): WebhookChannel {
  return { type: "webhook", name: "hook", url: receiver.url, secret: secretFile(SECRET), timeoutMs: 2000, headers: {}, ...overrides };
}

async function sendOne(overrides: Partial<WebhookChannel> = {}, m = message(), at = new Date("2026-12-05T09:15:30.000Z")): Promise<Delivery> {
  const channel = await createChannel(config(overrides), context(at));
  try {
    return await channel.send(m);
  } finally {
    await channel.close();
  }
}

describe("webhook requests", () => {
  it("are signed so that the receiver verifies them with the shared secret", async () => {
    expect(await sendOne()).toMatchObject({ ok: true });
    const [r] = receiver.received;
    expect(r!.signatureValid).toBe(true);
    expect(r!.headers["x-covenant-timestamp"]).toBe(String(Date.parse("2026-12-05T09:15:30.000Z") / 1000));
    expect(r!.headers["x-covenant-signature"]).toBe(signature(SECRET, 1796462130, r!.body));
    // the same body under another timestamp, or another body, does not verify: a replay cannot be re-dated
    expect(verifySignature(SECRET, { ...r!.headers, "x-covenant-timestamp": "1796462131" }, r!.body)).toBe(false);
    expect(verifySignature(SECRET, r!.headers, r!.body.replace("drift", "kept!"))).toBe(false);
    expect(verifySignature("another secret", r!.headers, r!.body)).toBe(false);
  });

  it("verify with the snippet in docs/channels/webhook.md, which refuses a stale timestamp and a changed body", async () => {
    const snippet = /```js\n([\s\S]*?)\n```/.exec(doc)![1]!;
    const dir = mkdtempSync(join(tmpdir(), "webhook-doc-"));
    writeFileSync(join(dir, "verify.mjs"), snippet);
    const { verifyCovenant } = (await import(pathToFileURL(join(dir, "verify.mjs")).href)) as { verifyCovenant: (secret: string, headers: object, body: string, now?: number) => boolean };
    const at = new Date("2026-12-05T09:15:30.000Z");
    await sendOne({}, message(), at);
    const r = receiver.received[0]!;
    expect(verifyCovenant(SECRET, r.headers, r.body, at.getTime() + 10_000)).toBe(true);
    expect(verifyCovenant(SECRET, r.headers, r.body, at.getTime() + 301_000)).toBe(false);
    expect(verifyCovenant(SECRET, r.headers, `${r.body} `, at.getTime())).toBe(false);
    expect(verifyCovenant("not the secret", r.headers, r.body, at.getTime())).toBe(false);
  });

  it("carry the documented headers; configured ones are added but cannot replace Covenant's", async () => {
    await sendOne({ headers: { "X-Tenant": "ledger", "x-covenant-id": "forged", "Content-Type": "text/plain" } });
    const h = receiver.received[0]!.headers;
    expect(h["content-type"]).toBe("application/json");
    expect(h["user-agent"]).toMatch(/^covenant\/(dev|\d+\.\d+\.\d+.*)$/);
    expect(h["x-covenant-id"]).toBe("m-4f6a1c9e0b2d7h3k");
    expect(h["x-tenant"]).toBe("ledger");
    expect(receiver.received[0]!.method).toBe("POST");
    expect(receiver.received[0]!.path).toBe("/hooks/covenant?token=path-secret");
  });

  it("have no signature when the channel has no secret", async () => {
    await sendOne({ secret: undefined });
    expect(receiver.received[0]!.headers["x-covenant-signature"]).toBeUndefined();
    expect(receiver.received[0]!.signatureValid).toBe(false);
  });

  it("hold a payload that matches the JSON Schema in docs/channels/webhook.md, with outside text as written", async () => {
    const validate = validator();
    const acked = deficiency({ id: "d-ack00001", ack: { at: "2026-12-05T10:00:00.000Z", reason: HOSTILE, by: "Alice Admin", user: "alice", loginUid: 1000, record: 1300 } });
    const resolved = deficiency({ id: "d-res00001", status: "resolved", resolvedBy: "kept", resolvedAt: "2026-12-05T11:00:00.000Z", control: { id: "SOX-404", title: "t", severity: "low", key: false } });
    const notice = deficiency({ id: "d-not00001", notice: true, status: "resolved", outcome: "repaired", resolvedBy: "repaired", resolvedAt: "2026-12-05T09:14:00.000Z", reason: HOSTILE });
    await sendOne({}, message({ deficiencies: [acked, resolved, notice], groupLabels: {} }));
    const payload = JSON.parse(receiver.received[0]!.body) as Record<string, unknown>;
    expect(validate(payload), JSON.stringify(validate.errors)).toBe(true);
    expect(payload).toMatchObject({ version: 1, id: "m-4f6a1c9e0b2d7h3k", kind: "opened", host: "ledger-01", sent_at: "2026-12-05T09:15:30.000Z" });
    const [a, r, n] = payload["deficiencies"] as Record<string, unknown>[];
    expect(a!["acknowledged"]).toEqual({ by: "Alice Admin", at: "2026-12-05T10:00:00.000Z", reason: HOSTILE });
    expect(r).toMatchObject({ status: "resolved", resolved_by: "kept", resolved_at: "2026-12-05T11:00:00.000Z", control: { owner: null, key: false } });
    expect(n).toMatchObject({ notice: true, outcome: "repaired", reason: HOSTILE });
    // the example in the docs is a valid payload too
    const example = /## Payload \(version 1\)\n\n```json\n([\s\S]*?)\n```/.exec(doc)![1]!;
    expect(validate(JSON.parse(example)), JSON.stringify(validate.errors)).toBe(true);
  });

  it("the schema refuses what is not a payload (it is not a schema that accepts everything)", () => {
    const validate = validator();
    expect(validate({ version: 2 })).toBe(false);
    expect(validate({ version: 1, id: "m-1", kind: "opened", host: "h", route: "root", group_key: "", group_labels: {}, stakeholder: "s", sent_at: "yesterday", deficiencies: [] })).toBe(false);
  });

  it("carry the same id when a message is sent again (receivers drop the copy); only the timestamp and sent_at differ", async () => {
    await sendOne({}, message(), new Date("2026-12-05T09:15:30.000Z"));
    await sendOne({}, message(), new Date("2026-12-05T09:20:00.000Z"));
    const [first, second] = receiver.received;
    expect(first!.headers["x-covenant-id"]).toBe(second!.headers["x-covenant-id"]);
    const strip = (body: string) => ({ ...(JSON.parse(body) as object), sent_at: undefined });
    expect(strip(first!.body)).toEqual(strip(second!.body));
    expect(second!.signatureValid).toBe(true);
  });
});

describe("webhook failures", () => {
  it("give up waiting after the timeout, and are worth a retry", async () => {
    receiver.mode = "slow";
    const started = Date.now();
    const d = await sendOne({ timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(d).toEqual({ ok: false, retryable: true, error: `the webhook at http://127.0.0.1:${receiver.port}: no answer within 300 ms` });
  });

  it("do not follow a redirect: not retried, and the error names the host it pointed to", async () => {
    receiver.mode = "302";
    const d = await sendOne();
    expect(d).toMatchObject({ ok: false, retryable: false });
    expect(!d.ok && d.error).toContain("moved.example.net");
    expect(!d.ok && d.error).not.toContain("token");
    expect(receiver.received).toHaveLength(1);
  });

  it("429 is worth a retry after Retry-After; 500 is worth a retry; 400 is not", async () => {
    receiver.mode = "429";
    expect(await sendOne()).toMatchObject({ ok: false, retryable: true, retryAfterMs: 7000 });
    receiver.mode = "500";
    expect(await sendOne()).toMatchObject({ ok: false, retryable: true });
    receiver.mode = "400";
    expect(await sendOne()).toMatchObject({ ok: false, retryable: false });
  });

  it("show a reply's body cut to 200 characters, on one line, and never the secret, the URL's path or query, or a header value", async () => {
    receiver.mode = "400";
    receiver.replyBody = `${SECRET} \x1b[31mred\n${"x".repeat(1000)}`;
    const d = await sendOne({ headers: { Authorization: "Bearer tok-5e2d9a7c1b" } });
    receiver.replyBody = "receiver says no";
    if (d.ok) throw new Error("expected a failure");
    const reply = d.error.slice(d.error.indexOf(": ") + 2);
    expect(Array.from(reply).length).toBeLessThanOrEqual(200);
    expect(d.error).not.toMatch(/[\x00-\x1f]/);
    expect(d.error).toContain("\\x1b[31mred\\n");
    for (const hidden of [SECRET, "path-secret", "/hooks/covenant", "tok-5e2d9a7c1b"]) expect(d.error).not.toContain(hidden);
  });

  it("a receiver that is not listening is worth a retry", async () => {
    const gone = await startWebhookReceiver(SECRET);
    await gone.stop();
    const d = await sendOne({ url: gone.url });
    expect(d).toEqual({ ok: false, retryable: true, error: `the webhook at http://127.0.0.1:${gone.port}: connection refused` });
  });
});

describe("what an HTTP answer means", () => {
  it("2xx is sent; 429 and 5xx are worth a retry; 3xx and other 4xx are not", () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 599 }), fc.string(), (status, body) => {
        const d = deliveryOf({ kind: "answer", status, statusText: "", body }, "r", [], 0);
        expect(d.ok).toBe(status < 300);
        if (!d.ok) expect(d.retryable).toBe(status === 429 || status >= 500);
      }),
    );
  });

  it("Retry-After is read as seconds or as an HTTP date", () => {
    fc.assert(fc.property(fc.nat(1_000_000), (n) => retryAfterMs(` ${n} `, 0) === n * 1000));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000 }), fc.integer({ min: 0, max: 100_000 }), (nowSeconds, ahead) => {
        const now = nowSeconds * 1000;
        return retryAfterMs(new Date(now + ahead * 1000).toUTCString(), now) === ahead * 1000;
      }),
    );
    expect(retryAfterMs("soon", 0)).toBeUndefined();
    expect(retryAfterMs(undefined, 0)).toBeUndefined();
  });
});

describe("a webhook URL with credentials in it", () => {
  it("is refused, not retried, and the credentials appear in no error", async () => {
    const d = await sendOne({ url: `http://hook:inline-pass-42@127.0.0.1:${receiver.port}/x` });
    expect(d).toMatchObject({ ok: false, retryable: false });
    expect(JSON.stringify(d)).not.toContain("inline-pass-42");
    expect(receiver.received).toHaveLength(0);
  });
});
