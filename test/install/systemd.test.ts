// examples/systemd/: the units must not contradict the controls they run. covenant.service
// observes and repairs the host itself, so it may set no option that shows the probes another
// host (PrivateTmp=: a private /tmp for the mount probe), makes repairs fail, or changes or kills
// what a repair starts (the default KillMode=control-group kills it when the oneshot ends).
// docs/install.md's table says why each option is set or not; the units are read against it.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bin } from "../helpers/cli.ts";
import { parseUnit, seconds } from "./unit-file.ts";

const units = ["covenant.service", "covenant.timer", "covenant-verify.service", "covenant-verify.timer", "covenant-watch.service"];
const dropIn = "covenant-watch.service.d/observe-only.conf";
const read = (name: string) => parseUnit(readFileSync(join("examples/systemd", name), "utf8"));
const service = read("covenant.service").get("Service")!;
const value = (key: string) => service.get(key)?.at(-1);

/** The rows of docs/install.md's table of a service's options: each option, and whether the unit sets it. */
function documentedOptions(service = "covenant.service"): { option: string; value?: string; set: boolean }[] {
  const doc = readFileSync("docs/install.md", "utf8");
  const header = `| option | in \`${service}\` | why |`;
  expect(doc).toContain(header);
  const table = doc.slice(doc.indexOf(header));
  const lines = table.split("\n").slice(2);
  const end = lines.findIndex((l) => !l.startsWith("|"));
  const rows = end === -1 ? lines : lines.slice(0, end);
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

describe("covenant.service and the watcher", () => {
  it("is skipped only while a watcher beats in the same state directory", () => {
    expect(service.get("ExecCondition")).toEqual([`/bin/sh -c '! /usr/bin/covenant watch --status --state /var/lib/${value("StateDirectory")}'`]);
  });
});

describe("covenant-watch.service", () => {
  const watch = read("covenant-watch.service");
  const watchService = watch.get("Service")!;
  const watchValue = (key: string) => watchService.get(key)?.at(-1);

  it("sets exactly the options docs/install.md says it sets, and none of those it says it does not", () => {
    const documented = documentedOptions("covenant-watch.service");
    expect(documented.length).toBeGreaterThan(30);
    for (const { option, value: v, set } of documented) {
      if (set) expect(watchValue(option), option).toBe(v);
      else expect(watchService.has(option), `${option} is documented as not set`).toBe(false);
    }
    const explained = new Set(documented.map((d) => d.option));
    for (const option of watchService.keys()) if (option !== "ExecStart") expect(explained, `${option} is not in docs/install.md`).toContain(option);
  });

  it("leaves out every option covenant.service leaves out, for the same reasons", () => {
    for (const { option, set } of documentedOptions()) if (!set) expect(watchService.has(option), option).toBe(false);
  });

  it("watches the policies covenant.service runs, in the same state directory, and stops within systemd's wait", () => {
    const argv = watchValue("ExecStart")!.split(/\s+/);
    const runArgv = value("ExecStart")!.split(/\s+/);
    expect(argv.slice(0, 2)).toEqual(["/usr/bin/covenant", "watch"]);
    expect(argv[argv.indexOf("--state") + 1]).toBe(`/var/lib/${watchValue("StateDirectory")}`);
    expect(argv.at(-1)).toBe(runArgv.at(-1)); // the policy directory
    expect(argv[argv.indexOf("--state") + 1]).toBe(runArgv[runArgv.indexOf("--state") + 1]);
    // a stop waits for the evaluation under way, which --timeout bounds: systemd must wait longer
    expect(seconds(argv[argv.indexOf("--timeout") + 1]!)).toBeLessThan(seconds(watchValue("TimeoutStopSec")!));
    expect(watchService.has("User")).toBe(false);
    // its check: the timer whose runs happen when the watcher does not beat
    expect(watch.get("Unit")!.get("Wants")).toContain("covenant.timer");
    expect(watch.get("Install")!.get("WantedBy")).toEqual(["multi-user.target"]);
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

describe("systemd-analyze", () => {
  const work = mkdtempSync(join(tmpdir(), "covenant-units-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const installed = spawnSync("systemd-analyze", ["--version"]).status === 0;
  // ExecStart must name an executable: this clone's launcher stands in for /usr/bin/covenant
  const copy = (name: string, to = work) => {
    mkdirSync(dirname(join(to, name)), { recursive: true });
    writeFileSync(join(to, name), readFileSync(join("examples/systemd", name), "utf8").replaceAll("/usr/bin/covenant", bin));
  };

  it.skipIf(!installed)("finds nothing to say about the units, nor about the watcher's drop-in", () => {
    for (const name of units) copy(name);
    const r = spawnSync("systemd-analyze", ["verify", ...units], { cwd: work, encoding: "utf8" });
    expect(r.stderr + r.stdout).toBe("");
    expect(r.status).toBe(0);
    // a drop-in beside a unit given by path is read with it (an unknown key would be said)
    const withDropIn = join(work, "confined");
    for (const name of ["covenant-watch.service", "covenant.timer", "covenant.service", dropIn]) copy(name, withDropIn);
    const d = spawnSync("systemd-analyze", ["verify", "covenant-watch.service"], { cwd: withDropIn, encoding: "utf8" });
    expect(d.stderr + d.stdout).toBe("");
    expect(d.status).toBe(0);
  });

  /** `systemd-analyze security --offline`'s overall exposure of a unit file, 0 (confined) to 10; undefined where this systemd cannot say it offline. */
  function exposure(dir: string, name: string): number | undefined {
    const r = spawnSync("systemd-analyze", ["security", "--offline=true", `./${name}`], { cwd: dir, encoding: "utf8" });
    const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.stdout);
    return m ? Number(m[1]) : undefined;
  }

  it.skipIf(!installed)("rates the drop-in's confinement better than the shipped unit, which docs/install.md says is rated as covenant.service is", (ctx) => {
    for (const name of units) copy(name);
    const withDropIn = join(work, "confined");
    for (const name of ["covenant-watch.service", "covenant.timer", "covenant.service", dropIn]) copy(name, withDropIn);
    const shipped = exposure(work, "covenant-watch.service");
    if (shipped === undefined) return ctx.skip(); // systemd older than 250 has no --offline
    expect(shipped).toBe(exposure(work, "covenant.service"));
    expect(exposure(withDropIn, "covenant-watch.service")!).toBeLessThan(shipped - 1);
  });
});
