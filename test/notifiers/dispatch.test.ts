// The dispatcher between the outbox and the channels: channel health judged on every round of
// a run's delivery (not only the first), and a store that fails mid-delivery stops new sends
// and lets the ones in flight finish before the channels are closed.
import { describe, expect, it } from "vitest";
import type { ChannelConfig, NotifyConfig, Route } from "../../src/config/types.js";
import type { Channel, Deficiency, Delivery, Message } from "../../src/notifiers/contract.js";
import { backoff, deliverDue, routeAndDeliver, type DeliveryResult, type DispatchReport, type SystemFinding } from "../../src/notifiers/dispatch.js";
import { MemoryOutbox } from "../../src/notifiers/memory-outbox.js";
import { StoreError } from "../../src/store/errors.js";
import { testContext } from "./context.js";
import { deficiency, message, security } from "./messages.js";

function config(overrides: { groupWaitMs?: number; failingAfter?: number } = {}): NotifyConfig {
  const route: Route = {
    id: "root",
    match: {},
    receivers: ["security"],
    continue: false,
    escalate: [],
    routes: [],
    line: 1,
    groupBy: ["control"],
    groupWaitMs: overrides.groupWaitMs ?? 0,
    groupIntervalMs: 60_000,
    repeatIntervalMs: 3_600_000,
    sendResolved: true,
  };
  const channel = (name: string, type: ChannelConfig["type"]) => ({ name, type }) as unknown as ChannelConfig;
  return {
    path: "/etc/covenant/covenant.yaml",
    host: { tags: [] },
    stakeholders: new Map([["security", { ...security, channels: ["mail", "sms"] }]]),
    channels: new Map([
      ["mail", channel("mail", "email")],
      ["sms", channel("sms", "twilio")],
    ]),
    route,
    inhibitDependents: true,
    delivery: { budgetMs: 5_000, maxAttempts: 5, backoffMs: 60_000, maxBackoffMs: 3_600_000, failingAfter: overrides.failingAfter ?? 1 },
  };
}

/** A channel that answers as told and notes every send, and any send after it was closed. */
class RecordingChannel implements Channel {
  sends: string[] = [];
  sentAfterClose = 0;
  private closed = false;
  constructor(
    readonly config: ChannelConfig,
    private readonly answer: () => Delivery,
    private readonly delayMs = 0,
  ) {}
  async send(m: Message): Promise<Delivery> {
    if (this.closed) this.sentAfterClose++;
    this.sends.push(m.id);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    return this.answer();
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The in-memory outbox, with Covenant's own deficiencies noted as the store records them. */
class HealthOutbox extends MemoryOutbox {
  findings: { key: string; outcome: "error" | "kept" }[] = [];
  constructor(private readonly open: Deficiency[]) {
    super(open);
  }
  recordSystemFinding(key: string, f: SystemFinding, outcome: "error" | "kept", reason: string, time: string): void {
    this.findings.push({ key, outcome });
    if (outcome === "error" && !this.open.some((d) => d.key === key)) {
      this.open.push(deficiency({ id: `d-own${String(this.open.length).padStart(5, "0")}`, key, control: f.control, promise: { type: f.type, promiser: f.promiser, ...f.promise }, reason, openedAt: time, updatedAt: time }));
    }
  }
}

const emptyReport = (): DispatchReport => ({ planned: 0, deliveries: [], leftOver: 0, inhibited: [], audience: {}, unusable: [], failingChannels: [], deficiencies: {} });

describe("routeAndDeliver", () => {
  it("judges channel health on a round after waiting for group_wait, not only on the first", async () => {
    const now = new Date().toISOString();
    const store = new HealthOutbox([deficiency({ openedAt: now, updatedAt: now })]);
    const channels = new Map<string, RecordingChannel>();
    const report = await routeAndDeliver(store, {
      config: config({ groupWaitMs: 200 }),
      facts: new Map(),
      now: () => Date.now(),
      budgetMs: 3_000,
      context: testContext(),
      makeChannel: async (c) => {
        const ch = new RecordingChannel(c, () => (c.name === "sms" ? { ok: false, retryable: true, error: "503 from the provider" } : { ok: true, detail: "250 OK" }));
        channels.set(c.name, ch);
        return ch;
      },
    });
    // the first round had nothing due (group_wait); the second sent, and sms failed
    expect(channels.get("sms")?.sends.length).toBe(1);
    expect(report.failingChannels.map((f) => f.channel)).toEqual(["sms"]);
    expect(store.findings).toContainEqual({ key: "covenant.notify/channel:sms", outcome: "error" });
    // the channel's own deficiency, opened and told in a later round, is in the report too
    const own = Object.entries(report.deficiencies).find(([, d]) => d.key === "covenant.notify/channel:sms");
    expect(own).toBeDefined();
    expect(report.deliveries.some((d) => d.channel === "mail" && d.deficiencies.includes(own![0]))).toBe(true);
  });

  it("counts failed deliveries in a row across messages: three first attempts failing make failing_after 3", async () => {
    const now = new Date().toISOString();
    const members = ["A", "B", "C"].map((c, i) => deficiency({ id: `d-000000${i}0`, key: `C-${c}/file:/x`, control: { id: `C-${c}`, title: c, severity: "high", key: false }, openedAt: now, updatedAt: now }));
    const store = new HealthOutbox([...members]);
    const report = await routeAndDeliver(store, {
      config: config({ failingAfter: 3 }),
      facts: new Map(),
      now: () => Date.now(),
      budgetMs: 3_000,
      context: testContext(),
      makeChannel: async (c) => new RecordingChannel(c, () => (c.name === "sms" ? { ok: false, retryable: true, error: "503 from the provider" } : { ok: true, detail: "250 OK" })),
    });
    expect(report.deliveries.filter((d) => d.channel === "sms" && d.status === "retrying" && members.some((m) => d.deficiencies.includes(m.id)))).toHaveLength(3);
    expect(report.failingChannels.map((f) => f.channel)).toEqual(["sms"]);
  });

  it("does not call a channel failing for fewer failures in a row than failing_after", async () => {
    const now = new Date().toISOString();
    const store = new HealthOutbox([deficiency({ openedAt: now, updatedAt: now })]);
    const report = await routeAndDeliver(store, {
      config: config({ failingAfter: 3 }),
      facts: new Map(),
      now: () => Date.now(),
      budgetMs: 3_000,
      context: testContext(),
      makeChannel: async (c) => new RecordingChannel(c, () => (c.name === "sms" ? { ok: false, retryable: true, error: "503 from the provider" } : { ok: true, detail: "250 OK" })),
    });
    expect(report.failingChannels).toEqual([]);
    expect(store.findings.filter((f) => f.outcome === "error")).toEqual([]);
  });
});

describe("a channel's own deficiency", () => {
  it("is resolved when the channel is no longer in the configuration (nothing else would ever resolve it)", async () => {
    const now = new Date().toISOString();
    const gone = deficiency({ id: "d-pager000", key: "covenant.notify/channel:pager", control: { id: "covenant.notify", title: "Deficiencies reach their stakeholders", severity: "high", key: false }, openedAt: now, updatedAt: now });
    const store = new HealthOutbox([gone]);
    await routeAndDeliver(store, { config: config(), facts: new Map(), now: () => Date.now(), budgetMs: 1_000, context: testContext(), makeChannel: async (c) => new RecordingChannel(c, () => ({ ok: true, detail: "250 OK" })) });
    expect(store.findings).toContainEqual({ key: "covenant.notify/channel:pager", outcome: "kept" });
  });
});

describe("deliverDue", () => {
  it("stops new sends when the store fails, and closes no channel under a send in flight", async () => {
    class FailingStore extends MemoryOutbox {
      recordDeliveries(_list: readonly { id: string; result: DeliveryResult }[]): void {
        throw new StoreError("disk full");
      }
    }
    const store = new FailingStore([]);
    const at = Date.now() - 1000;
    const d = deficiency();
    const messages = [
      ...Array.from({ length: 40 }, (_, i) => ({ channel: "mail", message: message({ id: `m-mail${String(i).padStart(12, "0")}`, deficiencies: [d] }), dueAt: at })),
      ...Array.from({ length: 6 }, (_, i) => ({ channel: "sms", message: message({ id: `m-sms0${String(i).padStart(12, "0")}`, deficiencies: [d] }), dueAt: at })),
    ];
    store.savePlan({ messages });
    const made: RecordingChannel[] = [];
    const opts = {
      config: config(),
      facts: new Map(),
      now: () => Date.now(),
      budgetMs: 5_000,
      context: testContext(),
      concurrency: 1,
      makeChannel: async (c: ChannelConfig) => {
        const ch = new RecordingChannel(c, () => ({ ok: true, detail: "ok" }), c.name === "sms" ? 40 : 0);
        made.push(ch);
        return ch;
      },
    };
    await expect(deliverDue(store, opts, Date.now() + 5_000, emptyReport())).rejects.toThrow(StoreError);
    // whatever was still running would have gone on sending by now
    await new Promise((r) => setTimeout(r, 400));
    const sms = made.find((c) => c.config.name === "sms")!;
    expect(sms.sentAfterClose).toBe(0);
    // the store failed at the 32nd mail: nothing new was started after that moment
    expect(sms.sends.length).toBeLessThan(6);
    expect(made.find((c) => c.config.name === "mail")!.sends.length).toBe(32);
  });

  it("a slow channel does not hold back a fast one: each channel goes through its due messages at its own pace", async () => {
    // a provider that takes 250 ms a text, with 100 texts and 100 emails due, interleaved; the
    // emails answer at once. The budget (2 s) covers every email many times over but not the
    // texts (100 / 4 sends at a time x 250 ms = 6 s): every email must be sent, whatever the
    // size of the batches the outbox is read in.
    const store = new MemoryOutbox([]);
    const at = Date.now() - 1000;
    const d = deficiency();
    const messages = Array.from({ length: 100 }, (_, i) => [
      { channel: "mail", message: message({ id: `m-mail${String(i).padStart(12, "0")}`, deficiencies: [d] }), dueAt: at },
      { channel: "sms", message: message({ id: `m-sms0${String(i).padStart(12, "0")}`, deficiencies: [d] }), dueAt: at },
    ]).flat();
    store.savePlan({ messages });
    const made = new Map<string, RecordingChannel>();
    const opts = {
      config: config(),
      facts: new Map(),
      now: () => Date.now(),
      budgetMs: 2_000,
      context: testContext(),
      makeChannel: async (c: ChannelConfig) => {
        const ch = new RecordingChannel(c, () => ({ ok: true, detail: "ok" }), c.name === "sms" ? 250 : 0);
        made.set(c.name, ch);
        return ch;
      },
    };
    const report = emptyReport();
    await deliverDue(store, opts, Date.now() + 2_000, report);
    expect(made.get("mail")!.sends.length).toBe(100);
    expect(report.deliveries.filter((x) => x.channel === "mail" && x.status === "sent")).toHaveLength(100);
  });
});

describe("backoff", () => {
  it("doubles from delivery.backoff, and a provider's Retry-After wins when longer, never past max_backoff", () => {
    const c = config(); // backoff 1m, max_backoff 1h
    expect([1, 2, 3].map((n) => backoff(c, n))).toEqual([60_000, 120_000, 240_000]);
    expect(backoff(c, 1, 300_000)).toBe(300_000);
    expect(backoff(c, 20)).toBe(3_600_000);
    // a server asking for a year does not hold a message past what the configuration allows
    expect(backoff(c, 1, 365 * 86_400_000)).toBe(3_600_000);
  });
});
