// The route tree: Alertmanager's walk (first matching child, `continue`), inherited timing, and
// the conditions a route can match on.
import { describe, expect, it } from "vitest";
import type { RouteMatch } from "../../../src/config/types.ts";
import { plan, receiversOf } from "../../../src/notifiers/routing/index.ts";
import { globMatch, routeMatches } from "../../../src/notifiers/routing/match.ts";
import { deficiency, minute, notifyConfig, second, type ConfigSpec } from "../../helpers/notify-config.ts";

const stakeholders: ConfigSpec["stakeholders"] = {
  security: { channels: ["hook"] },
  audit: { channels: ["hook"] },
  cfo_office: { channels: ["hook"] },
  ops: { channels: ["hook"] },
};

function routed(spec: ConfigSpec["route"], d = deficiency("d-aaaa0001")): string[] {
  const config = notifyConfig({ stakeholders, channels: { hook: "webhook" }, route: spec });
  return receiversOf(d, config, new Map()).map((r) => `${r.route}:${r.stakeholder}${r.escalation ? "!" : ""}`);
}

describe("route tree", () => {
  it("tells the promise's stakeholders and the control's owner when nothing matches", () => {
    expect(routed({ routes: [{ match: { control: ["SOX-*"] }, receivers: ["cfo_office"] }] })).toEqual(["root:audit", "root:security"]);
  });

  it("lets a matching child replace its parent's receivers, and stops at the first that matches", () => {
    const tree = { routes: [{ match: { control: ["ITGC-*"] }, receivers: ["cfo_office"] }, { match: { severity: ["high" as const] }, receivers: ["ops"] }] };
    expect(routed(tree)).toEqual(["root.0:cfo_office"]);
  });

  it("tries the next siblings after a child with continue: true", () => {
    const tree = { routes: [{ match: { control: ["ITGC-*"] }, receivers: ["cfo_office"], continue: true }, { match: { severity: ["high" as const] }, receivers: ["ops"] }] };
    expect(routed(tree)).toEqual(["root.0:cfo_office", "root.1:ops"]);
  });

  it("goes down nested routes, the deepest match deciding; a parent none of whose children match keeps the deficiency", () => {
    const tree = {
      routes: [{ match: { control: ["ITGC-*"] }, receivers: ["cfo_office"], routes: [{ match: { type: ["package"] }, receivers: ["ops"] }] }],
    };
    expect(routed(tree)).toEqual(["root.0:cfo_office"]);
    expect(routed(tree, deficiency("d-aaaa0002", { promise: { type: "package" } }))).toEqual(["root.0.0:ops"]);
  });

  it("lists escalation stakeholders as escalations, and spells out owners in a route's receivers", () => {
    const tree = { routes: [{ match: { key_control: true }, receivers: ["owners", "security", "ops"], escalate: [{ after: 60 * minute, to: ["cfo_office"] }] }] };
    expect(routed(tree)).toEqual(["root.0:audit", "root.0:security", "root.0:ops", "root.0:escalate.0:cfo_office!"]);
  });

  it("gives a route that names no receivers its parent's", () => {
    const config = notifyConfig({ stakeholders, channels: { hook: "webhook" }, route: { receivers: ["ops"], routes: [{ match: { control: ["ITGC-*"] } }] } });
    // as a loader might leave it: the child's receivers empty rather than copied
    config.route.routes[0]!.receivers = [];
    expect(receiversOf(deficiency("d-aaaa0001"), config, new Map()).map((r) => `${r.route}:${r.stakeholder}`)).toEqual(["root.0:ops"]);
  });

  it("gives nested routes the timing they do not set from their parents", () => {
    const config = notifyConfig({
      stakeholders,
      channels: { hook: "webhook" },
      route: { groupWaitMs: 10 * second, routes: [{ match: { control: ["ITGC-*"] }, receivers: ["ops"], groupWaitMs: 2 * minute, routes: [{ match: { severity: ["high"] } }] }] },
    });
    const nested = config.route.routes[0]!.routes[0]!;
    expect(nested.groupWaitMs).toBe(2 * minute);
    expect(nested.receivers).toEqual(["ops"]);
    const t0 = Date.parse("2026-03-02T12:00:00Z");
    const input = { config, deficiencies: [deficiency("d-aaaa0001")], groups: [], facts: new Map() };
    const first = plan({ ...input, now: t0 });
    expect(first.messages).toEqual([]);
    expect(first.nextAt).toBe(t0 + 2 * minute);
    expect(first.groups.map((g) => g.route)).toEqual(["root.0.0"]);
  });
});

describe("route conditions", () => {
  const d = deficiency("d-aaaa0001", { control: { id: "ITGC-AC-01", owner: "security", key: true }, severity: "high", promise: { type: "file", stakeholders: ["audit", "hr"] }, outcome: "drift" });
  const ctx = { facts: new Map<string, string | number | boolean | string[]>([["os.id", "debian"], ["os.version_id", 12], ["net.interfaces", ["lo", "eth0"]]]), tags: ["ledger", "prod"] };
  const cases: [RouteMatch, boolean][] = [
    [{}, true],
    [{ control: ["ITGC-AC-0?"] }, true],
    [{ control: ["ITGC-AC-1?"] }, false],
    [{ control: ["SOX-*", "ITGC-*"] }, true],
    [{ severity: ["critical"] }, false],
    [{ severity: ["critical", "high"] }, true],
    [{ owner: ["sec*"] }, true],
    [{ owner: ["ops"] }, false],
    [{ key_control: true }, true],
    [{ key_control: false }, false],
    [{ type: ["file"] }, true],
    [{ type: ["package", "service"] }, false],
    [{ outcome: ["drift", "error"] }, true],
    [{ outcome: ["failed"] }, false],
    [{ stakeholder: ["hr"] }, true],
    [{ stakeholder: ["cfo*"] }, false],
    [{ facts: { "os.id": ["debian", "ubuntu"] } }, true],
    [{ facts: { "os.id": ["rhel"] } }, false],
    [{ facts: { "os.version_id": ["1?"] } }, true],
    [{ facts: { "net.interfaces": ["eth*"] } }, true],
    [{ facts: { "no.such.fact": ["*"] } }, false],
    [{ tags: ["prod"] }, true],
    [{ tags: ["prod", "ledger"] }, true],
    [{ tags: ["prod", "dmz"] }, false],
    [{ control: ["ITGC-*"], severity: ["low"] }, false],
  ];
  it.each(cases)("%j → %s", (match, expected) => {
    expect(routeMatches(match, d, ctx)).toBe(expected);
  });

  it("does not match an owner condition when the control has no owner", () => {
    const { owner: _, ...control } = d.control;
    expect(routeMatches({ owner: ["*"] }, { ...d, control }, ctx)).toBe(false);
  });
});

describe("globMatch", () => {
  it("takes * for any run, ? for one character, and everything else literally", () => {
    expect(globMatch("ITGC-*", "ITGC-")).toBe(true);
    expect(globMatch("ITGC-*", "ITGC-AC-01")).toBe(true);
    expect(globMatch("ITGC-??-01", "ITGC-AC-01")).toBe(true);
    expect(globMatch("ITGC-??-01", "ITGC-A-01")).toBe(false);
    expect(globMatch("a.b", "axb")).toBe(false);
    expect(globMatch("(x)+[y]", "(x)+[y]")).toBe(true);
    expect(globMatch("*", "")).toBe(true);
    expect(globMatch("ITGC", "ITGC-1")).toBe(false);
  });
});
