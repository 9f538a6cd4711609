// The promises every channel keeps (src/notifiers/contract.ts, Channel), as one suite that each
// channel's harness runs (contract.test.ts): it delivers; outside text arrives escaped or intact
// as the medium needs; a temporary refusal, a permanent one and a receiver that is down are each
// told apart (retryable or not); no error or detail ever holds the channel's secret; and send
// never throws, whatever the message or the channel's state.
//
// A harness starts a real receiver on 127.0.0.1 (an SMTP server, the Twilio stand-in, a webhook
// receiver, Alertmanager, a report directory) and makes a channel configured for it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Channel, Delivery, Message } from "../../src/notifiers/contract.js";
import { deficiency, HOSTILE_REASON, hostileMessage, message } from "./messages.js";

export interface ChannelHarness {
  /** a new channel configured for this harness's receiver (the suite closes it) */
  make(): Promise<Channel>;
  /** everything the receiver has got so far, oldest first, in whatever shape it keeps */
  received(): Promise<unknown[]>;
  /** what a person or system reading one received item sees, as text (a mail's text and HTML parts, an SMS body, a JSON body) */
  shows(item: unknown): string;
  /** the part of an item a mail client or browser renders as HTML, if there is one: no markup of outside text may survive there */
  markup?(item: unknown): string | undefined;
  /** the id a receiver deduplicates on (Message-ID, payload id), or undefined where the medium carries none (SMS) */
  idOf(item: unknown): string | undefined;
  /**
   * How outside text must arrive: "escaped" (controls made visible, markup escaped: mail, SMS,
   * Markdown) or "intact" (the exact string, inside a structured payload: JSON, Alertmanager labels).
   */
  outsideText: "escaped" | "intact";
  /** whether the receiver shows a message's reason in full ("escaped" channels that cut text, such as SMS, do not) */
  showsWholeReason: boolean;
  /**
   * From now on, the receiver refuses in a way worth a retry (451, 429, 503). The failure
   * methods are optional only for a medium without such a failure (a report directory has no
   * server to be down): the suite then skips that case, and says so.
   */
  breakTemporarily?(): void | Promise<void>;
  /** from now on, the receiver refuses for good (550, an invalid number, 400) */
  breakPermanently?(): void | Promise<void>;
  /** back to accepting after either break */
  heal?(): void | Promise<void>;
  /** the receiver stops listening; up() starts it again on the same address */
  down?(): Promise<void>;
  up?(): Promise<void>;
  /** the channel's secret (password, token, HMAC key): it must appear in no Delivery */
  secret: string;
  stop(): Promise<void>;
}

/** Runs the contract against one channel. */
export function channelContract(name: string, makeHarness: () => Promise<ChannelHarness>): void {
  describe(`channel contract: ${name}`, () => {
    let h: ChannelHarness;
    const open: Channel[] = [];
    const results: Delivery[] = [];

    beforeAll(async () => {
      h = await makeHarness();
    });
    afterAll(async () => {
      for (const c of open) await c.close();
      await h?.stop();
    });

    const make = async () => {
      const c = await h.make();
      open.push(c);
      return c;
    };
    /** send, asserting it resolves (never rejects) and keeping the result for the secret check */
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

    it("a resend of the same message carries the same id", async () => {
      const c = await make();
      const before = (await h.received()).length;
      const m = message({ id: "m-contractresend00" });
      expect((await send(c, m)).ok).toBe(true);
      expect((await send(c, m)).ok).toBe(true);
      const [a, b] = await newItems(before);
      expect(h.idOf(b)).toBe(h.idOf(a));
      if (h.idOf(a) !== undefined) expect(h.idOf(a)).toContain("m-contractresend00");
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

    it("a temporary refusal is worth a retry, and delivery works once it passes", async (ctx) => {
      if (!h.breakTemporarily || !h.heal) return ctx.skip(`${name} has no temporary failure`);
      const c = await make();
      await h.breakTemporarily();
      try {
        const r = await send(c, message());
        expect(r).toMatchObject({ ok: false, retryable: true });
        expect(!r.ok && r.error.length).toBeGreaterThan(0);
      } finally {
        await h.heal();
      }
      expect((await send(c, message())).ok).toBe(true);
    });

    it("a permanent refusal is not worth a retry", async (ctx) => {
      if (!h.breakPermanently || !h.heal) return ctx.skip(`${name} has no permanent failure`);
      const c = await make();
      await h.breakPermanently();
      try {
        expect(await send(c, message())).toMatchObject({ ok: false, retryable: false });
      } finally {
        await h.heal();
      }
    });

    it("a receiver that is down is worth a retry, and the same channel delivers once it is up", async (ctx) => {
      if (!h.down || !h.up) return ctx.skip(`${name} has no receiver to be down`);
      const c = await make();
      await h.down();
      try {
        expect(await send(c, message())).toMatchObject({ ok: false, retryable: true });
      } finally {
        await h.up();
      }
      expect((await send(c, message())).ok).toBe(true);
    });

    it("never throws: odd messages, and a channel already closed", async () => {
      const c = await make();
      const odd: Message[] = [
        message({ kind: "test", deficiencies: [] }),
        message({ person: undefined }),
        message({ kind: "resolved", deficiencies: [deficiency({ status: "resolved", resolvedBy: "kept", resolvedAt: "2026-12-05T12:00:00.000Z" })] }),
        message({ deficiencies: [deficiency({ reason: "", differences: [], promised: [], changes: [], control: { id: "", title: "", severity: "low", key: false } })] }),
      ];
      for (const m of odd) expect(typeof (await send(c, m)).ok).toBe("boolean");
      await c.close();
      expect(typeof (await send(c, message())).ok).toBe("boolean");
    });

    it("no error or detail holds the secret", () => {
      expect(h.secret.length).toBeGreaterThan(0);
      expect(results.length).toBeGreaterThan(5);
      for (const r of results) expect(JSON.stringify(r)).not.toContain(h.secret);
      // every failure says something
      for (const r of results) if (!r.ok) expect(r.error.trim()).not.toBe("");
    });
  });
}
