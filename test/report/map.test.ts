// The knowledge map's graph, built from the example policy and the SOX ITGC library, and its DOT
// drawn by Debian's real Graphviz. The HTML page in a real browser: test/cli/map.test.ts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPaths } from "../../src/checker/check.ts";
import type { Policy } from "../../src/checker/policy.ts";
import { loadConfig } from "../../src/config/load.ts";
import { buildMap, cobitObjective, frameworkOf, type ControlNode, type KnowledgeMap, type MapNode, type PromiseNode, type StakeholderNode } from "../../src/report/map-graph.ts";
import { dotString, renderDot } from "../../src/report/map-dot.ts";
import { jsonForScript, renderHtml } from "../../src/report/map-html.ts";
import { resourcesOf } from "../../src/report/map-resources.ts";
import { ensureDebianTool } from "../helpers/debian-package.ts";

function policyOf(paths: string[]): Policy {
  const checked = checkPaths(paths);
  const errors = checked.diagnostics.filter((d) => d.severity === "error");
  if (!checked.policy || errors.length > 0) throw new Error(errors.map((d) => d.message).join("\n"));
  return checked.policy;
}

const count = (map: KnowledgeMap, kind: MapNode["kind"]) => map.nodes.filter((n) => n.kind === kind).length;
const node = <T extends MapNode>(map: KnowledgeMap, id: string): T => {
  const found = map.nodes.find((n) => n.id === id);
  if (!found) throw new Error(`no node ${id}`);
  return found as T;
};
const into = (map: KnowledgeMap, id: string, kind: string) => map.edges.filter((e) => e.to === id && e.kind === kind).map((e) => e.from);
const outOf = (map: KnowledgeMap, id: string, kind: string) => map.edges.filter((e) => e.from === id && e.kind === kind).map((e) => e.to);

const sox = policyOf(["examples/sox"]);
const itgc = policyOf(["policies/sox-itgc"]);

describe("the knowledge map of examples/sox", () => {
  const map = buildMap(sox);

  it("has a node for each control, promise, resource, stakeholder and reference", () => {
    expect([count(map, "control"), count(map, "promise"), count(map, "resource"), count(map, "stakeholder"), count(map, "ref")]).toEqual([12, 21, 22, 5, 16]);
    expect(map.edges.filter((e) => e.kind === "control-promise")).toHaveLength(21);
    expect(map.state).toBeUndefined();
    expect(map.nodes.some((n) => (n.kind === "control" && n.verdict !== undefined) || (n.kind === "promise" && n.outcome !== undefined))).toBe(false);
  });

  it("keys promises as run reports do and names the resources they watch", () => {
    const listener = node<PromiseNode>(map, "promise:ITGC-AC-02/listener:[5432]");
    expect([listener.control, listener.type, listener.promiser]).toEqual(["ITGC-AC-02", "listener", "[5432]"]);
    expect(outOf(map, listener.id, "promise-resource")).toEqual(["resource:port:5432"]);
    expect(outOf(map, "promise:OPS-AV-01/service:postgresql", "promise-resource")).toEqual(["resource:service:postgresql.service"]);
    expect(node(map, "resource:path:/srv/ledger/*.dat")).toMatchObject({ resource: "path", glob: true });
  });

  it("makes a resource two promises watch one node, with an edge from each", () => {
    expect(into(map, "resource:port:5432", "promise-resource").sort()).toEqual(["promise:ITGC-AC-01/connections:[5432,1433,1521]", "promise:ITGC-AC-02/listener:[5432]"]);
  });

  it("links controls to their owners and references, and promises to the stakeholders after `->`", () => {
    expect(outOf(map, "control:ITGC-AC-01", "control-ref").sort()).toEqual(["ref:COBIT DSS05.04", "ref:COSO 2013 P11", "ref:SOX 404"]);
    expect(outOf(map, "promise:ITGC-AC-01/connections:[5432,1433,1521]", "promise-stakeholder").sort()).toEqual(["stakeholder:compliance", "stakeholder:dba_oncall"]);
    const owner = node<ControlNode>(map, "control:ITGC-AC-01").owner!;
    expect(outOf(map, "control:ITGC-AC-01", "control-owner")).toEqual([`stakeholder:${owner}`]);
  });

  it("says how each stakeholder is reached with the configuration: channel names, never an address or a secret", () => {
    const config = loadConfig("examples/sox/covenant.yaml", { root: false, checkSecretFiles: false }).config!;
    const reached = buildMap(sox, { reach: new Map([...config.stakeholders].map(([n, s]) => [n, s.channels])) });
    expect(node<StakeholderNode>(reached, "stakeholder:security").channels).toEqual(["mail", "sms", "siem"]);
    expect(node<StakeholderNode>(reached, "stakeholder:dba_oncall").channels).toEqual(["sms", "mail"]);
    const text = JSON.stringify(reached);
    for (const secret of ["example.com", "+1555", "smtp", "SMTP_PASSWORD", "TWILIO", "AC000"]) expect(text).not.toContain(secret);
  });

  it("overlays the latest outcomes: a control's verdict is the worst of its promises'; a promise not recorded has none", () => {
    const outcomes = new Map([
      ["ITGC-AC-02/listener:[5432]", { outcome: "kept" as const, since: "2026-11-01T00:00:00.000Z", reason: "listening" }],
      ["ITGC-AC-01/connections:[5432,1433,1521]", { outcome: "drift" as const, since: "2026-11-02T00:00:00.000Z", reason: "a connection from 10.0.0.9" }],
    ]);
    const overlaid = buildMap(sox, { overlay: { state: "/var/lib/covenant", outcomes } });
    expect(overlaid.state).toBe("/var/lib/covenant");
    expect(node<ControlNode>(overlaid, "control:ITGC-AC-01").verdict).toBe("drift");
    expect(node<ControlNode>(overlaid, "control:ITGC-AC-02").verdict).toBe("kept");
    expect(node<PromiseNode>(overlaid, "promise:ITGC-AC-01/connections:[5432,1433,1521]")).toMatchObject({ outcome: "drift", reason: "a connection from 10.0.0.9" });
    expect(node<ControlNode>(overlaid, "control:OPS-AV-01").verdict).toBeUndefined();
  });
});

describe("the knowledge map of policies/sox-itgc", () => {
  const map = buildMap(itgc);

  it("counts the library's controls, promises and owners", () => {
    expect([count(map, "control"), count(map, "promise"), count(map, "stakeholder")]).toEqual([33, 209, 4]);
  });

  it("lists the controls in their ids' order, whatever file each is in", () => {
    const ids = map.nodes.filter((n) => n.kind === "control").map((n) => n.id.replace(/^control:/, ""));
    expect(ids.slice(0, 3)).toEqual(["SOX-AC-01", "SOX-AC-02", "SOX-AC-03"]);
    expect(ids.indexOf("SOX-AC-09")).toBeLessThan(ids.indexOf("SOX-AC-10"));
    expect(ids.at(-1)).toBe("SOX-OP-07");
  });

  it("shows which controls protect /etc/ssh/sshd_config: one resource watched by the promises of four controls", () => {
    const by = into(map, "resource:path:/etc/ssh/sshd_config", "promise-resource").map((p) => node<PromiseNode>(map, p).control);
    expect(new Set(by)).toEqual(new Set(["SOX-AC-10", "SOX-AC-11", "SOX-AC-12", "SOX-CM-02"]));
    expect(by.length).toBeGreaterThan(4);
  });

  it("groups references by framework, COBIT's by process", () => {
    const refs = map.nodes.filter((n) => n.kind === "ref");
    expect(new Set(refs.map((r) => r.framework))).toEqual(new Set(["SOX", "COSO", "COBIT", "CIS", "SSG"]));
    expect(new Set(refs.flatMap((r) => (r.objective ? [r.objective] : [])))).toEqual(new Set(["BAI06", "BAI07", "BAI10", "DSS01", "DSS04", "DSS05", "DSS06"]));
  });
});

describe("resources and references", () => {
  it("derives what each promise type watches from its promiser", () => {
    expect(resourcesOf("listener", [22, 443])).toEqual([{ kind: "port", name: "22", glob: false }, { kind: "port", name: "443", glob: false }]);
    expect(resourcesOf("service", "cron.service")).toEqual([{ kind: "service", name: "cron.service", glob: false }]);
    expect(resourcesOf("kernel_module", "usb-storage")).toEqual([{ kind: "kernel module", name: "usb_storage", glob: false }]);
    expect(resourcesOf("config", "/etc/profile.d/*.sh")).toEqual([{ kind: "path", name: "/etc/profile.d/*.sh", glob: true }]);
    expect(resourcesOf("mount", "/tmp")).toEqual([{ kind: "mount", name: "/tmp", glob: false }]);
    expect(resourcesOf("command", ["/usr/bin/pg_verifybackup", "-q"])).toEqual([{ kind: "program", name: "/usr/bin/pg_verifybackup", glob: false }]);
    expect(resourcesOf("load", null)).toEqual([{ kind: "host", name: "system load", glob: false }]);
    expect(resourcesOf("package", "telnet*")).toEqual([{ kind: "package", name: "telnet*", glob: true }]);
    expect(resourcesOf("scheduled", ".*/usr/sbin/logrotate.*")).toEqual([{ kind: "job", name: ".*/usr/sbin/logrotate.*", glob: false }]);
  });

  it("names a reference's framework and COBIT process", () => {
    expect(["COBIT 2019 DSS05.04", "COBIT BAI06.01", "COSO 2013 P11", "CIS Debian 12 v1.1.0 5.4.2.1", "SSG x", "SOX 404"].map(frameworkOf)).toEqual(["COBIT", "COBIT", "COSO", "CIS", "SSG", "SOX"]);
    expect(["COBIT 2019 DSS05.04", "COBIT BAI06.01", "COBIT 2019 APO01", "SOX 404 DSS05"].map(cobitObjective)).toEqual(["DSS05", "BAI06", "APO01", undefined]);
  });
});

describe("outside text in the DOT and HTML outputs", () => {
  let dir: string;
  let hostile: Policy;
  const title = 'Quotes " and \\" backslashes \\ </script><img src=x onerror="alert(1)"> & ]] end';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "covenant-map-"));
    const escaped = title.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
    writeFileSync(join(dir, "p.promise"), `control "EVIL-1" {\n  title = "${escaped}"\n  refs = ["COBIT 2019 DSS05.04", "X\\" -> n0 [label=\\"pwn"]\n  file "/etc/passwd" {\n    mode = "0644"\n  }\n}\n`);
    hostile = policyOf([join(dir, "p.promise")]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the hostile title as written", () => {
    expect(hostile.controls[0]!.title).toBe(title);
  });

  it("quotes DOT strings: quotes and backslashes escaped, line breaks gone", () => {
    expect(dotString('a "b" \\c\nd')).toBe('"a \\"b\\" \\\\c d"');
  });

  const dotMissing = ensureDebianTool("dot", "graphviz");
  it("draws a valid digraph with Graphviz's dot: the policies' control ids in the SVG, a hostile label kept whole", { timeout: 60_000 }, () => {
    expect(dotMissing).toBeUndefined();
    for (const [policy, ids] of [
      [itgc, ["SOX-AC-01", "SOX-CM-02"]],
      [sox, ["ITGC-AC-01", "ITGC-AC-02"]],
      [hostile, ["EVIL-1"]],
    ] as const) {
      const r = spawnSync("dot", ["-Tsvg"], { input: renderDot(buildMap(policy)), encoding: "utf8", maxBuffer: 1 << 26 });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const svg = r.stdout.replace(/&#45;/g, "-");
      for (const id of ids) expect(svg).toContain(`>${id}</text>`);
      if (policy === hostile) {
        // the reference that tries to close the label and add an edge is one node's text
        expect(svg).toContain("X&quot; -&gt; n0 [label=&quot;pwn");
        expect(svg).not.toContain("<img");
      }
    }
  });

  it("puts policy text in the page only as JSON that cannot end its block", () => {
    expect(jsonForScript({ t: "</script><!--&\u2028" })).toBe('{"t":"\\u003c/script\\u003e\\u003c!--\\u0026\\u2028"}');
    const html = renderHtml(buildMap(hostile));
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(html).not.toContain("<img");
    expect(html).toContain("Content-Security-Policy");
    expect(html).not.toMatch(/(?:src|href)=["']?https?:/);
  });
});
