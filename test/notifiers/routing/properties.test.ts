// Properties of plan() over random deficiencies and random runs with an advancing clock: no
// recipient is told about a group more often than group_interval allows; every open deficiency
// that is not held back and reaches someone is told, as it now stands, once enough time passes;
// and a plan depends only on its input (not on the order of it).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Severity } from "../../../src/checker/policy.ts";
import type { NotifyConfig } from "../../../src/config/types.ts";
import type { Deficiency } from "../../../src/notifiers/contract.ts";
import { baseRoute } from "../../../src/notifiers/routing/escalate.ts";
import { fingerprint } from "../../../src/notifiers/routing/ids.ts";
import { plan, receiversOf } from "../../../src/notifiers/routing/index.ts";
import { recipientsOf } from "../../../src/notifiers/routing/recipients.ts";
import { routesById } from "../../../src/notifiers/routing/match.ts";
import { acknowledged, day, deficiency, hour, minute, notice, notifyConfig, resolved, second, type RouteSpec } from "../../helpers/notify-config.ts";
import { Planner } from "../../helpers/routing.ts";

const t0 = Date.parse("2026-03-07T18:00:00Z");
const iso = (t: number): string => new Date(t).toISOString();

const configArb = fc
  .record({
    groupBy: fc.constantFrom<string[]>(["control"], [], ["..."], ["severity", "control"], ["outcome"]),
    groupWaitMs: fc.constantFrom(0, 30 * second, 5 * minute),
    groupIntervalMs: fc.constantFrom(minute, 5 * minute, 30 * minute),
    repeatIntervalMs: fc.constantFrom(30 * minute, hour, 4 * hour),
    sendResolved: fc.boolean(),
    quiet: fc.boolean(),
    child: fc.option(fc.record({ continue: fc.boolean(), escalate: fc.option(fc.record({ after: fc.constantFrom(minute, hour), unacknowledged: fc.boolean() }), { nil: undefined }) }), { nil: undefined }),
  })
  .map(({ child, quiet, ...timing }): NotifyConfig => {
    const route: RouteSpec = { ...timing, receivers: ["owners"] };
    if (child) route.routes = [{ match: { severity: ["critical", "high"] }, receivers: ["cfo"], continue: child.continue, escalate: child.escalate ? [{ ...child.escalate, to: ["security"] }] : [] }];
    return notifyConfig({
      stakeholders: {
        security: { people: [{ name: "Alice", email: "alice@example.com", phone: "+15551230001" }], channels: ["mail", "sms"], timezone: "America/New_York", ...(quiet ? { quietHours: { from: "22:00", to: "07:00" } } : {}) },
        audit: { channels: ["hook"] },
        cfo: { people: [{ name: "Carol", email: "carol@example.com" }], channels: ["mail"], timezone: "Europe/London", ...(quiet ? { quietHours: { from: "12:00", to: "13:30" } } : {}) },
      },
      channels: { mail: "email", sms: "twilio", hook: "webhook" },
      route,
    });
  });

type Op =
  | { op: "open"; control: string; severity: Severity; stakeholders: string[]; handle?: number; dependsOn?: number }
  | { op: "notice"; control: string }
  | { op: "resolve" | "ack" | "worse"; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("open" as const),
    control: fc.constantFrom("ITGC-AC-01", "ITGC-AC-02", "SOX-FIN-01"),
    severity: fc.constantFrom<Severity>("low", "high", "critical"),
    stakeholders: fc.subarray(["security", "audit", "ghost"]),
    handle: fc.option(fc.nat(3), { nil: undefined }),
    dependsOn: fc.option(fc.nat(3), { nil: undefined }),
  }),
  fc.record({ op: fc.constant("notice" as const), control: fc.constantFrom("ITGC-AC-01", "SOX-FIN-01") }),
  fc.record({ op: fc.constantFrom("resolve" as const, "ack" as const, "worse" as const), pick: fc.nat() }),
);

const stepArb = fc.record({ advance: fc.integer({ min: 0, max: 3 * hour }), ops: fc.array(opArb, { maxLength: 3 }) });

/** Applies one change, as a run would record it, to the deficiencies the store holds. */
function apply(held: Deficiency[], op: Op, now: number, serial: number): Deficiency[] {
  const at = iso(now);
  if (op.op === "open" || op.op === "notice") {
    const id = `d-${String(serial).padStart(8, "0")}`;
    if (op.op === "notice") return [...held, notice(id, { control: { id: op.control }, openedAt: at, updatedAt: at })];
    const promise = { stakeholders: op.stakeholders, dependsOn: op.dependsOn === undefined ? [] : [`h${op.dependsOn}`], ...(op.handle === undefined ? {} : { handle: `h${op.handle}` }) };
    return [...held, deficiency(id, { control: { id: op.control, owner: "security" }, severity: op.severity, promise, openedAt: at, updatedAt: at })];
  }
  const open = held.filter((d) => d.status === "open");
  if (open.length === 0) return held;
  const target = open[op.pick % open.length]!;
  const changed =
    op.op === "resolve" ? resolved(target, at) : op.op === "ack" ? acknowledged(target, at) : { ...target, outcome: "error" as const, lastRecord: target.lastRecord + 1, updatedAt: at };
  return held.map((d) => (d === target ? changed : d));
}

function simulate(config: NotifyConfig, steps: { advance: number; ops: Op[] }[]): { planner: Planner; held: Deficiency[]; now: number } {
  const planner = new Planner(config);
  let held: Deficiency[] = [];
  let now = t0;
  let serial = 0;
  for (const step of steps) {
    now += step.advance;
    for (const op of step.ops) held = apply(held, op, now, ++serial);
    planner.at(now, held);
  }
  return { planner, held, now };
}

describe("plan() properties", () => {
  it("never tells one recipient about one group twice within group_interval", () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }), (config, steps) => {
        const { planner } = simulate(config, steps);
        const routes = routesById(config.route);
        const last = new Map<string, number>();
        for (const m of planner.sent) {
          const key = `${m.message.route} ${m.message.groupKey} ${m.recipient}`;
          const interval = routes.get(baseRoute(m.message.route))!.groupIntervalMs;
          const before = last.get(key);
          if (before !== undefined) expect(m.dueAt - before).toBeGreaterThanOrEqual(interval);
          last.set(key, m.dueAt);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("reminds only of what was told: a change is told as a change, not left for a reminder", () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }), (config, steps) => {
        const { planner } = simulate(config, steps);
        const told = new Map<string, string>();
        for (const m of planner.sent) {
          const key = `${m.message.route} ${m.message.groupKey} ${m.recipient}`;
          for (const d of m.message.deficiencies) {
            if (m.message.kind === "reminder") expect(told.get(`${key} ${d.id}`), `${d.id} reminded to ${key}`).toBe(fingerprint(d));
            told.set(`${key} ${d.id}`, fingerprint(d));
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it("eventually tells every open deficiency that is not held back, as it now stands, to everyone it is routed to", () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 30 }), (config, steps) => {
        const { planner, held, now } = simulate(config, steps);
        // nothing changes any more; runs come when plan() says a timer fires
        let t = now;
        for (let i = 0; i < 500 && t < now + 3 * day; i++) {
          const next = planner.last!.nextAt;
          expect(next === undefined || next > t).toBe(true);
          t = next ?? t + day;
          planner.at(t, held);
        }
        // worked out here rather than taken from the plan: held back while a deficiency it depends on is open
        const openHandles = new Set(held.filter((d) => d.status === "open" && d.promise.handle).map((d) => d.promise.handle));
        for (const d of held) {
          if (d.status !== "open" || d.promise.dependsOn.some((h) => openHandles.has(h))) continue;
          for (const receiver of receiversOf(d, config, new Map())) {
            if (receiver.escalation) continue;
            for (const recipient of recipientsOf(config.stakeholders.get(receiver.stakeholder)!, config.channels)) {
              const told = planner.groups.filter((g) => g.route === receiver.route && g.recipient === recipient.id && g.told[d.id] === fingerprint(d));
              expect(told, `${d.id} to ${recipient.id}`).toHaveLength(1);
            }
          }
        }
        // and a notice is told at most once to each recipient
        const notices = new Map<string, number>();
        for (const m of planner.sent) for (const d of m.message.deficiencies) if (d.notice) notices.set(`${d.id} ${m.recipient} ${m.message.route}`, (notices.get(`${d.id} ${m.recipient} ${m.message.route}`) ?? 0) + 1);
        expect([...notices.values()].every((n) => n === 1)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("gives the same plan for the same input, in whatever order the deficiencies and states come", () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 6 * hour }), (config, steps, later) => {
        const { planner, held, now } = simulate(config, steps);
        const input = { now: now + later, config, deficiencies: held, groups: planner.groups, facts: new Map() };
        const once = plan(input);
        expect(plan(input)).toEqual(once);
        expect(plan({ ...input, deficiencies: [...held].reverse(), groups: [...planner.groups].reverse() })).toEqual(once);
      }),
      { numRuns: 100 },
    );
  });
});
