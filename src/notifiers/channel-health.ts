// The health of the channels, judged from what delivery did: a channel that keeps failing is a
// deficiency of Covenant's own (opened and resolved through the store like a promise's result),
// told through the stakeholders' other channels.
import type { Deficiency } from "./contract.js";
import type { DispatchOptions, DispatchReport, DispatchStore, SentMessage, SystemFinding } from "./dispatch.js";

/** The key of the deficiency that says a channel keeps failing. */
export const channelFailingKey = (channel: string) => `covenant.notify/channel:${channel}`;

/**
 * Resolves the deficiency of a channel no longer in the configuration: no delivery through it
 * will ever resolve it. Returns whether one was resolved.
 */
export async function resolveRemovedChannels(store: DispatchStore, opts: DispatchOptions, deficiencies: Deficiency[]): Promise<boolean> {
  if (store.recordSystemFinding === undefined) return false;
  let resolved = false;
  const prefix = channelFailingKey("");
  for (const d of deficiencies) {
    if (d.status !== "open" || !d.key.startsWith(prefix)) continue;
    const name = d.key.slice(prefix.length);
    if (opts.config.channels.has(name)) continue;
    const finding = channelFinding(name, opts, d.host, d.promise.stakeholders);
    await store.recordSystemFinding(d.key, finding, "kept", `the ${name} channel is no longer in the configuration`, new Date(opts.now()).toISOString());
    resolved = true;
  }
  return resolved;
}

function channelFinding(name: string, opts: DispatchOptions, host: string, stakeholders: string[]): SystemFinding {
  return {
    host,
    type: "channel",
    promiser: name,
    control: { id: "covenant.notify", title: "Deficiencies reach their stakeholders", severity: "high", key: false },
    promise: { stakeholders, dependsOn: [], file: opts.config.path, line: 0 },
    promised: [`channel ${name} delivers`],
  };
}

/**
 * A judge of channel health for one dispatch: each call looks at the deliveries (and channels
 * that could not be made) since the last call, and returns whether a channel is newly failing
 * (routing then has something new to tell).
 */
export function healthJudge(store: DispatchStore, opts: DispatchOptions, report: DispatchReport): () => Promise<boolean> {
  let seenDeliveries = 0;
  let seenUnusable = 0;
  return async () => {
    const deliveries = report.deliveries.slice(seenDeliveries);
    const unusable = report.unusable.slice(seenUnusable);
    seenDeliveries = report.deliveries.length;
    seenUnusable = report.unusable.length;
    return store.recordSystemFinding !== undefined && (await channelHealth(store, opts, report, deliveries, unusable));
  };
}

/**
 * Opens a deficiency for each channel whose every delivery in this round failed, with
 * `delivery.failing_after` failures in a row (in this round, or one message's attempts), and
 * resolves it for each channel that delivered.
 * Returns whether a channel was newly found failing.
 */
async function channelHealth(store: DispatchStore, opts: DispatchOptions, report: DispatchReport, deliveries: SentMessage[], unusableNow: DispatchReport["unusable"]): Promise<boolean> {
  const byChannel = new Map<string, SentMessage[]>();
  for (const d of deliveries) byChannel.set(d.channel, [...(byChannel.get(d.channel) ?? []), d]);
  for (const u of unusableNow) if (!byChannel.has(u.channel)) byChannel.set(u.channel, []);
  let opened = false;
  const time = new Date(opts.now()).toISOString();
  for (const [name, list] of byChannel) {
    const anySent = list.some((d) => d.status === "sent");
    const unusable = unusableNow.find((u) => u.channel === name);
    // failures in a row: this round's (none sent), or one message's attempts over several runs
    const { failingAfter } = opts.config.delivery;
    const failing = !anySent && (unusable !== undefined || list.length >= failingAfter || list.some((d) => d.attempts >= failingAfter || d.status === "given-up"));
    if (!anySent && !failing) continue;
    const users = [...opts.config.stakeholders.values()].filter((s) => s.channels.includes(name)).map((s) => s.name);
    const lastError = unusable?.error ?? list.find((d) => d.status !== "sent")?.detail ?? "";
    const finding = channelFinding(name, opts, report.host ?? "", users);
    const reason = failing ? `the ${name} channel keeps failing: ${lastError}` : `the ${name} channel delivers again`;
    await store.recordSystemFinding!(channelFailingKey(name), finding, failing ? "error" : "kept", reason, time);
    if (failing && !report.failingChannels.some((f) => f.channel === name)) {
      report.failingChannels.push({ channel: name, error: lastError });
      opened = true;
    }
    // delivered again in a later round: no longer said to be failing
    if (!failing) report.failingChannels = report.failingChannels.filter((f) => f.channel !== name);
  }
  return opened;
}
