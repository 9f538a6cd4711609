// `covenant notify flush` delivers what is due in the outbox (what a run left, retries whose
// backoff has passed, reminders and escalations whose time has come); `covenant notify test`
// sends a test message through each of a stakeholder's channels and says what each did.
import type { NotifyConfig } from "../../config/types.js";
import type { Deficiency, Message } from "../../notifiers/contract.js";
import { routeAndDeliver } from "../../notifiers/dispatch.js";
import { makeChannel } from "../../notifiers/registry.js";
import { readFacts } from "../../facts/host.js";
import { hostname } from "node:os";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { channelContext, requireNotifyConfig } from "../notify-config.js";
import { withStoreForWriting } from "../store-access.js";
import { renderDispatch } from "../notify-report.js";

export interface FlushOptions {
  state?: string;
  config?: string;
  json: boolean;
  /** how long delivery may take, ms (the configuration's budget by default) */
  budgetMs?: number;
  etcRoot: string;
  now?: Date;
}

export async function runNotifyFlush(opts: FlushOptions, io: Io): Promise<number> {
  const config = await requireNotifyConfig(opts.config, io, "notify flush", "; see docs/configuration.md");
  if (!config) return EXIT.policyError;
  const clock = clockFrom(opts.now);
  return withStoreForWriting(opts.state, io, "notify flush", async (store) => {
    const report = await routeAndDeliver(store, {
      config,
      facts: readFacts({ now: new Date(clock()), etcRoot: opts.etcRoot }),
      now: clock,
      budgetMs: opts.budgetMs ?? config.delivery.budgetMs,
      makeChannel,
      context: await channelContext(() => new Date(clock())),
      host: hostname(),
    });
    if (opts.json) io.out(JSON.stringify(report, null, 2));
    else io.out(renderDispatch(report, io.style) || "nothing was due");
    return report.deliveries.some((d) => d.status !== "sent") || report.unusable.length > 0 ? EXIT.deficiencies : EXIT.ok;
  });
}

/** A clock that starts at `now` (tests) and moves with real time. */
function clockFrom(now?: Date): () => number {
  if (!now) return () => Date.now();
  const offset = now.getTime() - Date.now();
  return () => Date.now() + offset;
}

export interface TestOptions {
  config?: string;
  to: string;
  channel?: string;
  json: boolean;
}

export async function runNotifyTest(opts: TestOptions, io: Io): Promise<number> {
  const config = await requireNotifyConfig(opts.config, io, "notify test");
  if (!config) return EXIT.policyError;
  const stakeholder = config.stakeholders.get(opts.to);
  if (!stakeholder) {
    io.err(`covenant notify test: no stakeholder \`${escapeText(opts.to)}\` in ${escapeText(config.path)} (it has ${[...config.stakeholders.keys()].map(escapeText).join(", ") || "none"})`);
    return EXIT.policyError;
  }
  const names = stakeholder.channels.filter((c) => opts.channel === undefined || c === opts.channel);
  if (names.length === 0) {
    io.err(`covenant notify test: \`${escapeText(opts.to)}\` has no channel \`${escapeText(opts.channel ?? "")}\` (its channels: ${stakeholder.channels.map(escapeText).join(", ")})`);
    return EXIT.policyError;
  }
  const results: { channel: string; to: string; ok: boolean; detail: string }[] = [];
  for (const name of names) results.push(...(await testChannel(config, name, stakeholder)));
  if (opts.json) io.out(JSON.stringify(results, null, 2));
  else for (const r of results) io.out(`${r.ok ? io.style.green("sent") : io.style.red("failed")}  ${escapeText(r.channel)} → ${escapeText(r.to)}: ${escapeText(r.detail)}`);
  return results.every((r) => r.ok) && results.length > 0 ? EXIT.ok : EXIT.deficiencies;
}

async function testChannel(config: NotifyConfig, name: string, stakeholder: NonNullable<ReturnType<NotifyConfig["stakeholders"]["get"]>>) {
  const cfg = config.channels.get(name)!;
  const people = cfg.type === "email" ? stakeholder.people.filter((p) => p.email) : cfg.type === "twilio" ? stakeholder.people.filter((p) => p.phone) : [undefined];
  if (people.length === 0) return [{ channel: name, to: stakeholder.name, ok: false, detail: `nobody of ${stakeholder.name} has ${cfg.type === "email" ? "an email address" : "a phone number"}` }];
  let channel;
  try {
    channel = await makeChannel(cfg, await channelContext());
  } catch (err) {
    return [{ channel: name, to: stakeholder.name, ok: false, detail: `could not be set up: ${(err as Error).message}` }];
  }
  const out = [];
  try {
    for (const person of people) {
      const message = testMessage(stakeholder, person);
      const d = await channel.send(message);
      // the address this channel uses: a text goes to the phone even when the person has an email too
      const to = person ? `${person.name} <${cfg.type === "twilio" ? person.phone : person.email}>` : stakeholder.name;
      out.push({ channel: name, to, ok: d.ok, detail: d.ok ? d.detail : `${d.error}${d.retryable ? " (temporary)" : ""}` });
    }
  } finally {
    await channel.close().catch(() => {});
  }
  return out;
}

function testMessage(stakeholder: Message["stakeholder"], person: Message["person"]): Message {
  const now = new Date().toISOString();
  const host = hostname();
  const id = `m-test${Date.now().toString(36)}`;
  const deficiency: Deficiency = {
    id: "d-test0000",
    key: "covenant.test/notify:test",
    notice: true,
    status: "resolved",
    outcome: "repaired",
    resolvedBy: "repaired",
    host,
    control: { id: "covenant.test", title: "Test message from Covenant: nothing is wrong", severity: "low", key: false },
    promise: { type: "notify", promiser: "test", stakeholders: [stakeholder.name], dependsOn: [], file: "", line: 0 },
    promised: [],
    reason: "a test of this channel, sent by `covenant notify test`",
    differences: [],
    changes: [],
    openedAt: now,
    openedRun: 0,
    openedRecord: 0,
    lastRecord: 0,
    updatedAt: now,
    resolvedAt: now,
  };
  return { id, kind: "test", route: "test", groupKey: "test", groupLabels: {}, previous: [], host, deficiencies: [deficiency], stakeholder, ...(person ? { person } : {}), createdAt: now };
}
