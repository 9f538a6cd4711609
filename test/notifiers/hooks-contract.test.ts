// The channel contract, run against the webhook, Alertmanager and report channels through their
// harnesses (harnesses/*.ts): it delivers, outside text arrives as written, a passing failure is
// worth a retry and a lasting one is not, a receiver that is down is worth a retry, no error holds
// the secret, and send never throws. H4's contract suite checks the same of every channel; these
// harnesses plug into it unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deficiency, Delivery, Message } from "../../src/notifiers/contract.js";
import { alertmanagerHarness } from "./harnesses/alertmanager.js";
import { reportHarness } from "./harnesses/report.js";
import type { ChannelHarness } from "./harnesses/types.js";
import { webhookHarness } from "./harnesses/webhook.js";
import { deficiency, HOSTILE, message } from "./hooks-fixtures.js";

const harnesses: [string, () => Promise<ChannelHarness>][] = [
  ["webhook", webhookHarness],
  ["alertmanager", alertmanagerHarness],
  ["report", reportHarness],
];

let serial = 0;
/** a message no earlier check sent: its own id and deficiency id */
function fresh(overrides: Partial<Deficiency> = {}): Message {
  serial++;
  return message({ id: `m-contract${serial}`, deficiencies: [deficiency({ id: `d-contract${serial}`, ...overrides })] });
}

/** as JSON spells it, so it can be looked for in whatever the receiver holds */
const spelled = (text: string) => JSON.stringify(text).slice(1, -1);

describe.each(harnesses)("%s channel contract", (_name, start) => {
  let h: ChannelHarness;
  const errors: string[] = [];
  const failed = (d: Delivery) => {
    if (!d.ok) errors.push(d.error);
    return d;
  };

  beforeAll(async () => {
    h = await start();
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it("delivers a message: the receiver holds its deficiency", async () => {
    const m = fresh();
    const channel = await h.make();
    const d = failed(await channel.send(m));
    expect(d, JSON.stringify(d)).toMatchObject({ ok: true });
    expect(JSON.stringify(await h.received())).toContain(m.deficiencies[0]!.id);
    await channel.close();
  });

  it("carries outside text as written", async () => {
    const m = fresh({ reason: HOSTILE, promise: { ...deficiency().promise, promiser: `/srv/${HOSTILE}` } });
    const channel = await h.make();
    expect(failed(await channel.send(m))).toMatchObject({ ok: true });
    const held = JSON.stringify(await h.received());
    expect(held).toContain(spelled(HOSTILE));
    expect(held).toContain(spelled(`/srv/${HOSTILE}`));
  });

  it("a passing failure is worth a retry, and nothing is delivered", async () => {
    const m = fresh();
    const channel = await h.make();
    await h.breakTemporarily();
    const d = failed(await channel.send(m));
    expect(d).toMatchObject({ ok: false, retryable: true });
    await h.make();
    expect(JSON.stringify(await h.received())).not.toContain(m.deficiencies[0]!.id);
  });

  it("a lasting failure is not worth a retry", async () => {
    const channel = await h.make();
    await h.breakPermanently();
    expect(failed(await channel.send(fresh()))).toMatchObject({ ok: false, retryable: false });
    await h.make();
  });

  it("a receiver that is down is worth a retry", async (ctx) => {
    if (!h.takeDown) ctx.skip();
    const channel = await h.make();
    await h.takeDown!();
    expect(failed(await channel.send(fresh()))).toMatchObject({ ok: false, retryable: true });
    await h.make();
  });

  it("send never throws, even on a message it cannot make sense of", async () => {
    const channel = await h.make();
    const broken = { ...fresh(), deficiencies: [null] } as unknown as Message;
    const d = failed(await channel.send(broken));
    expect(d.ok).toBe(false);
  });

  it("no error holds the secret", () => {
    expect(errors.length).toBeGreaterThanOrEqual(3);
    for (const e of errors) {
      expect(typeof e).toBe("string");
      if (h.secret !== "") expect(e).not.toContain(h.secret);
    }
  });
});
