// After a run (or on `covenant notify flush`, later the watcher): route what the store holds to
// planned messages, persist them in the outbox, then deliver what is due within a time budget.
// The plan is saved before any channel sees a message, so a crash mid-delivery resends the same
// message (same id) next time, and a receiver can drop the copy. Channels are made only when a
// message is due for them: a run with nothing to tell loads no channel library.
import type { ChannelConfig, NotifyConfig } from "../config/types.js";
import type { Channel, ChannelContext, Deficiency, Delivery, DeliveryResult, GroupState, Message, OutboxMessage } from "./contract.js";
import { channelFailingKey, healthJudge, resolveRemovedChannels } from "./channel-health.js";
import { plan, type Plan } from "./routing/index.js";

export { channelFailingKey };

/** A value, or a promise of it: the host's store (SQLite) answers at once, the hub's (PostgreSQL) later. */
export type Awaitable<T> = T | Promise<T>;

/**
 * What the dispatcher needs of the state store (src/store/store.ts implements it, synchronously;
 * the hub's PostgreSQL outbox, src/hub/monitor/pg-outbox.ts, asynchronously). Every method is
 * awaited (what the writes return is not used), and the dispatcher never has two of them in flight at once from one lane; lanes of
 * different channels may overlap, so an asynchronous store serialises its own transactions.
 */
export interface DispatchStore {
  notificationWorkingSet(): Awaitable<{ deficiencies: Deficiency[]; groups: GroupState[]; events: number[] }>;
  savePlan(p: { messages: { channel: string; message: Message; dueAt: number }[]; groups: GroupState[]; dropped: GroupState[]; routedEvents: number[] }): unknown;
  /** up to `limit` due messages, oldest first, leaving out the ids in `skip`; only `channel`'s when given */
  dueMessages(now: number, limit?: number, skip?: ReadonlySet<string>, channel?: string): Awaitable<OutboxMessage[]>;
  /** the channels that have messages due */
  dueChannels(now: number): Awaitable<string[]>;
  /** how many are due, leaving out `skip` (without reading them); only `channel`'s when given */
  countDue(now: number, skip?: ReadonlySet<string>, channel?: string): Awaitable<number>;
  recordDelivery(id: string, result: DeliveryResult): unknown;
  /** several at once, in one transaction (faster: one move of the head anchor) */
  recordDeliveries?(list: readonly { id: string; result: DeliveryResult }[]): unknown;
  /** opens (outcome error) or resolves (kept) a deficiency of Covenant's own, such as a channel that keeps failing */
  recordSystemFinding?(key: string, finding: SystemFinding, outcome: "error" | "kept", reason: string, time: string): unknown;
}

export type { DeliveryResult } from "./contract.js";

/** A deficiency of Covenant's own: what the store needs to open one. */
export interface SystemFinding {
  host: string;
  type: string;
  promiser: string;
  control: Deficiency["control"];
  promise: Omit<Deficiency["promise"], "type" | "promiser">;
  promised: string[];
}

export interface DispatchOptions {
  config: NotifyConfig;
  facts: ReadonlyMap<string, string | number | boolean | string[]>;
  /** ms since the epoch; injectable for tests */
  now: () => number;
  /** how long delivery may take in all, ms (the configuration's budget unless a command says otherwise) */
  budgetMs: number;
  makeChannel: (config: ChannelConfig, ctx: ChannelContext) => Promise<Channel>;
  context: ChannelContext;
  /** sends in flight per channel */
  concurrency?: number;
  /** this host's name, for deficiencies of Covenant's own */
  host?: string;
}

export interface SentMessage {
  id: string;
  channel: string;
  recipient: string;
  kind: Message["kind"];
  deficiencies: string[];
  status: "sent" | "retrying" | "given-up";
  attempts: number;
  detail: string;
}

export interface DispatchReport {
  /** messages planned now (including ones due later) */
  planned: number;
  deliveries: SentMessage[];
  /** still due but not attempted: the budget ran out */
  leftOver: number;
  inhibited: Plan["inhibited"];
  /** deficiency id → recipients ("stakeholder/channel[/address]") routing gave it */
  audience: Record<string, string[]>;
  /** deficiency id → recipients whose group already told it (by an earlier run, or queued then) */
  toldBefore?: Record<string, string[]>;
  /** channels that could not be made (a missing secret, a bad CA file): every message of theirs waits */
  unusable: { channel: string; error: string }[];
  /** when the next timer fires (group_wait, interval, repeat, escalation, quiet hours), ms since the epoch */
  nextAt?: number;
  /** channels whose deliveries keep failing (each is a deficiency of its own, told through the stakeholders' other channels) */
  failingChannels: { channel: string; error: string }[];
  /** the host, for deficiencies of Covenant's own */
  host?: string;
  /** the deficiencies routing looked at, by id: what the report says about each */
  deficiencies: Record<string, { key: string; control: string; outcome: string; status: string; notice: boolean }>;
}

/** Routes and saves the plan, then delivers what is due. Never throws for a channel's failure. */
export async function routeAndDeliver(store: DispatchStore, opts: DispatchOptions): Promise<DispatchReport> {
  const started = opts.now();
  const report = await routeFirst(store, opts, started);
  const deadline = started + opts.budgetMs;
  await deliverDue(store, opts, deadline, report);
  // a channel that keeps failing is itself a deficiency, told at once through the stakeholders'
  // other channels (its own messages fail, and are retried, like any other). Judged on each
  // round's deliveries: a round after a wait sends too, and its failures count as much.
  const health = healthJudge(store, opts, report);
  let again = await health();
  // a routing timer that fires within the budget (a short group_wait or group_interval) is
  // waited for: otherwise its message would wait for the next run, minutes later. A retry's
  // backoff is not: a failed message waits for the next run or `covenant notify flush`.
  for (let round = 0; round < 20 && opts.now() < deadline; round++) {
    const next = report.nextAt;
    if (!again && (next === undefined || next > deadline)) break;
    if (!again) await sleep(Math.max(0, next! - opts.now()));
    await routeAgain(store, opts, report);
    await deliverDue(store, opts, deadline, report);
    again = await health();
  }
  return report;
}

/**
 * The first routing of a dispatch, as the report it starts. Only the report is kept: the working
 * set and the plan (every deficiency, every planned message) are not held while messages are
 * delivered, which reads them back from the outbox a batch at a time (bench/notify: a run that
 * tells 1,000 deficiencies).
 */
async function routeFirst(store: DispatchStore, opts: DispatchOptions, now: number): Promise<DispatchReport> {
  let working = await store.notificationWorkingSet();
  if (await resolveRemovedChannels(store, opts, working.deficiencies)) working = await store.notificationWorkingSet();
  const planned = await routeAndSave(store, opts, now, working);
  const report: DispatchReport = { planned: planned.messages.length, deliveries: [], leftOver: 0, inhibited: planned.inhibited, audience: planned.audience, toldBefore: toldIn(working.groups), unusable: [], deficiencies: reportedDeficiencies(working.deficiencies), failingChannels: [], ...(opts.host !== undefined ? { host: opts.host } : {}) };
  if (planned.nextAt !== undefined) report.nextAt = planned.nextAt;
  return report;
}

/** A later round's routing (a timer fired, a channel found failing), added to the report. */
async function routeAgain(store: DispatchStore, opts: DispatchOptions, report: DispatchReport): Promise<void> {
  const later = await store.notificationWorkingSet();
  const p = await routeAndSave(store, opts, opts.now(), later);
  // a deficiency opened meanwhile (a channel found failing) is reported with the rest
  Object.assign(report.deficiencies, reportedDeficiencies(later.deficiencies));
  report.planned += p.messages.length;
  Object.assign(report.audience, p.audience);
  report.inhibited = p.inhibited;
  if (p.nextAt !== undefined) report.nextAt = p.nextAt;
  else delete report.nextAt;
}

function reportedDeficiencies(list: Deficiency[]): DispatchReport["deficiencies"] {
  return Object.fromEntries(list.map((d) => [d.id, { key: d.key, control: d.control.id, outcome: d.outcome, status: d.status, notice: d.notice }]));
}

/** Per deficiency, the recipients whose group state says it was told. */
function toldIn(groups: GroupState[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const g of groups) for (const id of Object.keys(g.told)) (out[id] ??= []).push(g.recipient);
  return out;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The routing step alone: plan from what the store holds and save it, in one transaction. */
async function routeAndSave(store: DispatchStore, opts: Pick<DispatchOptions, "config" | "facts">, now: number, working: { deficiencies: Deficiency[]; groups: GroupState[]; events: number[] }): Promise<Plan> {
  const p = plan({ now, config: opts.config, deficiencies: working.deficiencies, groups: working.groups, facts: opts.facts });
  await store.savePlan({ messages: p.messages, groups: p.groups, dropped: p.dropped, routedEvents: working.events });
  return p;
}

/**
 * How many of a channel's due messages are read from the outbox at a time: enough to keep its
 * sends in flight, few enough that a run telling a thousand deficiencies holds a few dozen
 * messages (each carries its deficiencies whole) rather than all of them (bench/notify).
 */
const BATCH = 16;

/**
 * Delivers every due message until the deadline, each channel made once and closed after. Each
 * channel goes through its own messages at its own pace: a provider that answers slowly (or
 * times out) never holds back the others, which is when they matter most.
 */
export async function deliverDue(store: DispatchStore, opts: DispatchOptions, deadline: number, report: DispatchReport): Promise<void> {
  const attempted = new Set(report.deliveries.map((d) => d.id));
  const channels = new Map<string, Promise<Channel | undefined>>();
  const recorder = new Recorder(store);
  try {
    // every channel's sends run to their end (a store failure stops new sends, not the ones in
    // flight) before a failure is thrown and the channels are closed under nothing
    const lanes = await Promise.allSettled((await store.dueChannels(opts.now())).map((name) => deliverLane(store, recorder, opts, deadline, report, channels, attempted, name)));
    for (const l of lanes) if (l.status === "rejected") throw l.reason;
    await recorder.flush();
  } finally {
    for (const made of channels.values()) await made.then((c) => c?.close()).catch(() => {});
  }
}

/** One channel's due messages, a batch at a time, until none is due or the deadline passes. */
async function deliverLane(store: DispatchStore, recorder: Recorder, opts: DispatchOptions, deadline: number, report: DispatchReport, channels: Map<string, Promise<Channel | undefined>>, attempted: Set<string>, name: string): Promise<void> {
  for (;;) {
    // a message tried once in this round waits for its backoff, even if that is already over
    const batch = await store.dueMessages(opts.now(), BATCH, attempted, name);
    if (batch.length === 0 || recorder.failed) return;
    if (opts.now() >= deadline) {
      // what is left over is counted, not read: the outbox may hold thousands
      report.leftOver += await store.countDue(opts.now(), attempted, name);
      return;
    }
    for (const m of batch) attempted.add(m.id);
    await deliverThrough(recorder, opts, deadline, report, channels, name, batch);
  }
}

/**
 * Delivery results, written to the store a few at a time: one transaction and one move of the
 * head anchor per handful rather than per message. A crash before a handful is written resends
 * those messages, with the same ids (at least once, deduplicated by the receiver).
 */
class Recorder {
  private pending: { id: string; result: DeliveryResult }[] = [];
  /** set when the store refused a write: nothing new is sent, since its result could not be kept */
  failed = false;
  constructor(private readonly store: DispatchStore) {}

  async record(id: string, result: DeliveryResult): Promise<void> {
    this.pending.push({ id, result });
    if (this.pending.length >= 32) await this.flush();
  }

  async flush(): Promise<void> {
    const list = this.pending;
    this.pending = [];
    if (list.length === 0) return;
    try {
      if (this.store.recordDeliveries) await this.store.recordDeliveries(list);
      else for (const { id, result } of list) await this.store.recordDelivery(id, result);
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }
}

/** Sends one channel's share of a batch, making the channel the first time it is needed. */
async function deliverThrough(recorder: Recorder, opts: DispatchOptions, deadline: number, report: DispatchReport, channels: Map<string, Promise<Channel | undefined>>, name: string, messages: OutboxMessage[]): Promise<void> {
  const config = opts.config.channels.get(name);
  if (!config) {
    // the configuration no longer has the channel a message was planned for: give it up, said
    for (const m of messages) await settle(recorder, opts, report, m, { ok: false, retryable: false, error: `the channel \`${name}\` is no longer in the configuration` });
    return;
  }
  if (!channels.has(name)) {
    channels.set(
      name,
      opts.makeChannel(config, opts.context).catch((err: unknown) => {
        const error = (err as Error).message;
        if (!report.unusable.some((u) => u.channel === name)) report.unusable.push({ channel: name, error });
        return undefined;
      }),
    );
  }
  const channel = await channels.get(name)!;
  if (!channel) {
    const error = report.unusable.find((u) => u.channel === name)?.error ?? "unknown";
    for (const m of messages) await settle(recorder, opts, report, m, { ok: false, retryable: true, error: `the channel could not be set up: ${error}` });
    return;
  }
  await sendAll(channel, messages, opts, deadline, () => opts.now() >= deadline || recorder.failed, (m, d) => settle(recorder, opts, report, m, d), () => report.leftOver++);
}

async function sendAll(channel: Channel, messages: OutboxMessage[], opts: DispatchOptions, deadline: number, stop: () => boolean, done: (m: OutboxMessage, d: Delivery) => Promise<void>, skipped: () => void): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < messages.length) {
      const m = messages[next++]!;
      // past the budget (or once the store failed) nothing new starts: what is left waits in the
      // outbox for the next run
      if (stop()) {
        skipped();
        continue;
      }
      await done(m, await withinBudget(channel.send(m.message), deadline - opts.now()));
    }
  };
  const workers = await Promise.allSettled(Array.from({ length: Math.min(opts.concurrency ?? 4, messages.length) }, worker));
  for (const w of workers) if (w.status === "rejected") throw w.reason;
}

/**
 * A send's result, or, when the budget ends first, a retry: a receiver that takes a message and
 * never answers (an SMTP server silent after DATA) would otherwise hold the run for the channel's
 * whole timeout, past the budget. The message may have arrived; its resend carries the same id.
 */
export async function withinBudget(sending: Promise<Delivery>, leftMs: number): Promise<Delivery> {
  const settled = sending.catch((err: unknown): Delivery => ({ ok: false, retryable: true, error: `the channel failed unexpectedly: ${(err as Error).message}` }));
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<Delivery>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, retryable: true, error: "no answer before the delivery budget ran out: tried again later (with the same message id, so a receiver that took it can drop the copy)" }), Math.max(0, leftMs));
  });
  try {
    return await Promise.race([settled, outOfTime]);
  } finally {
    clearTimeout(timer);
  }
}

/** Records one delivery's result: sent, retried later with backoff, or given up. */
async function settle(recorder: Recorder, opts: DispatchOptions, report: DispatchReport, m: OutboxMessage, d: Delivery): Promise<void> {
  const now = opts.now();
  const at = new Date(now).toISOString();
  const attempts = m.attempts + 1;
  const { maxAttempts } = opts.config.delivery;
  let status: SentMessage["status"];
  if (d.ok) {
    status = "sent";
    await recorder.record(m.id, { at, status, ...(d.providerId !== undefined ? { providerId: d.providerId } : {}) });
  } else if (d.retryable && attempts < maxAttempts) {
    status = "retrying";
    await recorder.record(m.id, { at, status, error: d.error, nextAt: now + backoff(opts.config, attempts, d.retryAfterMs) });
  } else {
    status = "given-up";
    await recorder.record(m.id, { at, status, error: d.retryable ? `${d.error} (gave up after ${attempts} attempts)` : d.error });
  }
  report.deliveries.push({
    id: m.id,
    channel: m.channel,
    recipient: recipientOf(m.message, opts.config.channels.get(m.channel)?.type),
    kind: m.message.kind,
    deficiencies: m.message.deficiencies.map((x) => x.id),
    status,
    attempts,
    detail: d.ok ? d.detail : d.error,
  });
}

/**
 * Exponential backoff from the configured step; a provider's Retry-After wins when longer; both
 * capped by max_backoff (a server's reply does not hold a message past what the site allows).
 */
export function backoff(config: NotifyConfig, attempts: number, retryAfterMs?: number): number {
  const { backoffMs, maxBackoffMs } = config.delivery;
  const exp = backoffMs * 2 ** Math.min(attempts - 1, 20);
  return Math.min(maxBackoffMs, Math.max(exp, retryAfterMs ?? 0));
}

/** Who a message is to, for people: the stakeholder, and the address the channel uses. */
export function recipientOf(m: Message, channelType?: string): string {
  const address = m.recipient?.split("/")[2];
  if (address) return `${m.stakeholder.name} <${address}>`;
  const who = channelType === "twilio" ? (m.person?.phone ?? m.person?.email) : (m.person?.email ?? m.person?.phone);
  return who ? `${m.stakeholder.name} <${who}>` : m.stakeholder.name;
}
