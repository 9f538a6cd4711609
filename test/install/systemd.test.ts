// examples/systemd/: the units must not contradict the controls they run. covenant.service
// observes and repairs the host itself, so it may set no option that shows the probes another
// host (PrivateTmp=: a private /tmp for the mount probe), makes repairs fail, or changes or kills
// what a repair starts (the default KillMode=control-group kills it when the oneshot ends).
// docs/install.md's table says why each option is set or not; the units are read against it.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bin } from "../helpers/cli.ts";

type Unit = Map<string, Map<string, string[]>>;

/** A unit file's sections and their settings (a key may repeat; comments and blank lines skipped). */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const setting = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!setting || !section) throw new Error(`not a unit file line: ${raw}`);
    section.set(setting[1]!, [...(section.get(setting[1]!) ?? []), setting[2]!]);
  }
  return unit;
}

const units = ["covenant.service", "covenant.timer", "covenant-verify.service", "covenant-verify.timer"];
const read = (name: string) => parseUnit(readFileSync(join("examples/systemd", name), "utf8"));
const service = read("covenant.service").get("Service")!;
const value = (key: string) => service.get(key)?.at(-1);

/** systemd's time spans as this project writes them: 30s, 4m, 5min, 2h. */
function seconds(span: string): number {
  const m = /^(\d+)\s*(s|sec|m|min|h)$/.exec(span);
  if (!m) throw new Error(`unexpected time span ${span}`);
  return Number(m[1]) * { s: 1, sec: 1, m: 60, min: 60, h: 3600 }[m[2] as "s"];
}

/** The rows of docs/install.md's table of covenant.service's options: each option, and whether the unit sets it. */
function documentedOptions(): { option: string; value?: string; set: boolean }[] {
  const doc = readFileSync("docs/install.md", "utf8");
  const table = doc.slice(doc.indexOf("| option | in `covenant.service` | why |"));
  const rows = table.split("\n").slice(2).filter((l) => l.startsWith("| `"));
  return rows.flatMap((row) => {
    const [names, set] = row.split("|").slice(1, 3).map((c) => c.trim()) as [string, string];
    expect(["yes", "no"]).toContain(set);
    return [...names.matchAll(/`(\w+)=([^`]*)`/g)].map((m) => ({ option: m[1]!, ...(m[2] ? { value: m[2] } : {}), set: set === "yes" }));
  });
}

describe("covenant.service", () => {
  it("judges the host's own /tmp and lets what a repair starts outlive the run", () => {
    expect(service.has("PrivateTmp")).toBe(false);
    expect(value("KillMode")).toBe("process");
    for (const option of ["ProtectSystem", "ProtectHome", "ReadOnlyPaths", "ProtectKernelTunables", "NoNewPrivileges", "Nice"]) {
      expect(service.has(option), option).toBe(false);
    }
  });

  it("sets exactly the options docs/install.md says it sets, and none of those it says it does not", () => {
    const documented = documentedOptions();
    expect(documented.length).toBeGreaterThan(20);
    for (const { option, value: v, set } of documented) {
      if (set) expect(value(option), option).toBe(v);
      else expect(service.has(option), `${option} is documented as not set`).toBe(false);
    }
    const explained = new Set(documented.map((d) => d.option));
    for (const option of service.keys()) if (option !== "ExecStart") expect(explained, `${option} is not in docs/install.md`).toContain(option);
  });

  it("runs as root on the state and log directories systemd makes, and stops itself before systemd must", () => {
    const argv = value("ExecStart")!.split(/\s+/);
    expect(argv.slice(0, 2)).toEqual(["/usr/bin/covenant", "run"]);
    expect(argv[argv.indexOf("--state") + 1]).toBe(`/var/lib/${value("StateDirectory")}`);
    expect(argv[argv.indexOf("--junit") + 1]).toMatch(new RegExp(`^/var/log/${value("LogsDirectory")}/`));
    expect(service.has("User")).toBe(false);
    expect(value("SuccessExitStatus")).toBe("1");
    // the run's timeout, then its hard stop 30 s later (docs/cli.md), both before systemd's
    const runTimeout = seconds(argv[argv.indexOf("--timeout") + 1]!);
    expect(runTimeout + 30).toBeLessThan(seconds(value("TimeoutStartSec")!));
    // and before the timer starts the next one
    expect(seconds(value("TimeoutStartSec")!)).toBeLessThanOrEqual(seconds(read("covenant.timer").get("Timer")!.get("OnUnitActiveSec")![0]!));
  });
});

describe("covenant-verify.service", () => {
  it("verifies the same state directory, confined: it reads and starts nothing else", () => {
    const verify = read("covenant-verify.service").get("Service")!;
    expect(verify.get("ExecStart")).toEqual([`/usr/bin/covenant verify --state /var/lib/${verify.get("StateDirectory")![0]}`]);
    expect(verify.get("ProtectSystem")).toEqual(["strict"]);
    for (const option of ["ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateNetwork", "NoNewPrivileges"]) expect(verify.get(option), option).toEqual(["yes"]);
  });
});

describe("systemd-analyze verify", () => {
  const work = mkdtempSync(join(tmpdir(), "covenant-units-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const installed = spawnSync("systemd-analyze", ["--version"]).status === 0;

  it.skipIf(!installed)("finds nothing to say about the units", () => {
    // ExecStart must name an executable: this clone's launcher stands in for /usr/bin/covenant
    for (const name of units) writeFileSync(join(work, name), readFileSync(join("examples/systemd", name), "utf8").replaceAll("/usr/bin/covenant", bin));
    const r = spawnSync("systemd-analyze", ["verify", ...units], { cwd: work, encoding: "utf8" });
    expect(r.stderr + r.stdout).toBe("");
    expect(r.status).toBe(0);
  });
});
