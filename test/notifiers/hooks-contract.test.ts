// The channel contract, run against the webhook, Alertmanager and report channels through their
// harnesses (harnesses/*.ts). The checks are those of H4's suite (test/notifiers/contract.ts on
// branch n14-channels), which these harnesses plug into unchanged: it delivers; a resend carries
// the same id; outside text arrives as the medium needs; a temporary refusal, a permanent one and
// a receiver that is down are told apart; send never throws; no error holds the secret. One
// difference: a channel that drops a resend itself (the report, `dedupes`) adds nothing the
// second time, rather than a second item with the same id.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Channel, Delivery, Message } from "../../src/notifiers/contract.js";
import { alertmanagerHarness } from "./harnesses/alertmanager.js";
import { reportHarness } from "./harnesses/report.js";
import type { ChannelHarness } from "./harnesses/types.js";
import { webhookHarness } from "./harnesses/webhook.js";
import { deficiency, HOSTILE_REASON, hostileMessage, message } from "./hooks-fixtures.js";

const harnesses: [string, () => Promise<ChannelHarness>][] = [
  ["webhook", webhookHarness],
  ["alertmanager", alertmanagerHarness],
  ["report", reportHarness],
];

describe.each(harnesses)("channel contract: %s", (_name, makeHarness) => {
  let h: ChannelHarness;
  const open: Channel[] = [];
  const results: Delivery[] = [];

  beforeAll(async () => {
    h = await makeHarness();
  }, 60_000);
  afterAll(async () => {
    for (const c of open) await c.close();
    await h?.stop();
  });

  const make = async () => {
    const c = await h.make();
    open.push(c);
    return c;
  };
  const send = async (c: Channel, m: Message) => {
    const r = await c.send(m).then(
      (d) => d,
      (err: unknown) => expect.fail(`send threw: ${String(err)}`),
    );
    results.push(r);
    return r;
  };
  const newItems = async (before: number) => (await h.received()).slice(before);

  it("delivers a message, which arrives once and names the deficiency", async () => {
    const c = await make();
    const before = (await h.received()).length;
    const r = await send(c, message());
    expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
    const got = await newItems(before);
    expect(got).toHaveLength(1);
    expect(h.shows(got[0])).toContain("d-7k3q9m2x");
    expect(h.shows(got[0])).toContain("ITGC-AC-01");
  });

  it("a resend of the same message carries the same id (or, where the channel drops it, adds nothing)", async () => {
    const c = await make();
    const before = (await h.received()).length;
    const m = message({ id: "m-contractresend00" });
    expect((await send(c, m)).ok).toBe(true);
    expect((await send(c, m)).ok).toBe(true);
    const got = await newItems(before);
    expect(got).toHaveLength(h.dedupes ? 1 : 2);
    if (!h.dedupes) expect(h.idOf(got[1])).toBe(h.idOf(got[0]));
    if (h.idOf(got[0]) !== undefined) expect(h.idOf(got[0])).toContain("m-contractresend00");
  });

  it("outside text (line breaks, markup, terminal escapes, non-Latin) arrives as the medium needs", async () => {
    const c = await make();
    const before = (await h.received()).length;
    expect((await send(c, hostileMessage())).ok).toBe(true);
    const [item] = await newItems(before);
    const shown = h.shows(item);
    expect(shown).toContain("d-hst1le00");
    if (h.outsideText === "intact") {
      expect(shown).toContain(HOSTILE_REASON);
    } else {
      expect(shown).not.toMatch(/[\u001b\u0007\u202e]/);
      const markup = h.markup?.(item);
      if (markup !== undefined) expect(markup).not.toMatch(/<script|<img|<h1>forged/);
      expect(shown).not.toMatch(/^RESOLVED: all fine/m);
      if (h.showsWholeReason) expect(shown).toContain("帳簿 Журнал");
    }
  });

  it("a temporary refusal is worth a retry, and delivery works once it passes", async () => {
    const c = await make();
    await h.breakTemporarily();
    try {
      const r = await send(c, message({ id: "m-contracttemp000" }));
      expect(r).toMatchObject({ ok: false, retryable: true });
      expect(!r.ok && r.error.length).toBeGreaterThan(0);
    } finally {
      await h.heal();
    }
    expect((await send(c, message({ id: "m-contracttemp000" }))).ok).toBe(true);
  });

  it("a permanent refusal is not worth a retry", async () => {
    const c = await make();
    await h.breakPermanently();
    try {
      expect(await send(c, message({ id: "m-contractperm000" }))).toMatchObject({ ok: false, retryable: false });
    } finally {
      await h.heal();
    }
  });

  it("a receiver that is down is worth a retry, and the same channel delivers once it is up", async () => {
    const c = await make();
    await h.down();
    try {
      expect(await send(c, message({ id: "m-contractdown000" }))).toMatchObject({ ok: false, retryable: true });
    } finally {
      await h.up();
    }
    expect((await send(c, message({ id: "m-contractdown000" }))).ok).toBe(true);
  });

  it("never throws: odd messages, and a channel already closed", async () => {
    const c = await make();
    const odd: Message[] = [
      message({ kind: "test", deficiencies: [] }),
      message({ person: undefined }),
      message({ kind: "resolved", deficiencies: [deficiency({ status: "resolved", resolvedBy: "kept", resolvedAt: "2026-12-05T12:00:00.000Z" })] }),
      message({ deficiencies: [deficiency({ reason: "", differences: [], promised: [], changes: [], control: { id: "", title: "", severity: "low", key: false } })] }),
      { ...message(), deficiencies: [null] } as unknown as Message,
      { ...message(), createdAt: "not a time", stakeholder: { name: "../../etc", people: [], channels: [] } },
    ];
    for (const m of odd) expect(typeof (await send(c, m)).ok).toBe("boolean");
    await c.close();
    expect(typeof (await send(c, message())).ok).toBe("boolean");
  });

  it("no error or detail holds the secret", () => {
    expect(h.secret.length).toBeGreaterThan(0);
    expect(results.length).toBeGreaterThan(8);
    for (const r of results) expect(JSON.stringify(r)).not.toContain(h.secret);
    for (const r of results) if (!r.ok) expect(r.error.trim()).not.toBe("");
  });
});
