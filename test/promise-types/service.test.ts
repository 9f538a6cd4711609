import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("service", {
  valid: ['service "cron.service" { state = running enabled = true }', 'service "telnet" { state = stopped repair = stop }'],
  invalid: [
    { promise: 'service "bad name" { state = running }', code: "E103", message: /a unit name/ },
    { promise: 'service "pg" { state = runing }', code: "E103", message: /`runing` is not a valid value/ },
  ],
});

// systemd is not PID 1 on these machines: a stand-in `systemctl` answers `show` from a state
// file per unit and carries out start, restart and stop by rewriting it, and a marker
// directory under a run root stands for /run/systemd/system. A unit with a `.stuck` file
// beside its state ignores start; one with a `.refuse` file fails it, as systemd would.
const dir = mkdtempSync(join(tmpdir(), "cvt-service-"));
const units = join(dir, "units");
mkdirSync(units);
const runRoot = join(dir, "run");
mkdirSync(join(runRoot, "systemd", "system"), { recursive: true });
const systemctl = join(dir, "systemctl");
writeFileSync(
  systemctl,
  `#!/bin/sh
units='${units}'
echo "$*" >> "$units/calls.log"
for unit; do :; done
state="$units/$unit"
write() {
  enabled=$(grep '^UnitFileState=' "$state")
  printf 'LoadState=loaded\\nActiveState=%s\\nSubState=%s\\n%s\\nMainPID=%s\\n' "$1" "$2" "$enabled" "$3" > "$state"
}
case "$1" in
  show) if [ -f "$state" ]; then cat "$state"; else printf 'LoadState=not-found\\nActiveState=inactive\\nSubState=dead\\nUnitFileState=\\nMainPID=0\\n'; fi ;;
  start|restart)
    if [ -f "$state.refuse" ]; then echo "Job for $unit failed because the control process exited with error code." >&2; exit 1; fi
    [ -f "$state.stuck" ] || write active running 4242 ;;
  stop) write inactive dead 0 ;;
  *) echo "Unknown command verb $1." >&2; exit 1 ;;
esac
`,
);
chmodSync(systemctl, 0o755);
const roots = { proc: "/proc", etc: "/etc", run: runRoot };
const withStandIn = { roots, systemctl };

/** A unit of the stand-in, under a name no other test uses; returns the name without `.service`. */
function unit(active: boolean, unitFileState = "enabled", quirk?: "stuck" | "refuse"): string {
  const name = `cvt-${randomBytes(4).toString("hex")}`;
  const [activeState, subState, pid] = active ? ["active", "running", 4242] : ["inactive", "dead", 0];
  writeFileSync(stateFile(name), `LoadState=loaded\nActiveState=${activeState}\nSubState=${subState}\nUnitFileState=${unitFileState}\nMainPID=${pid}\n`);
  if (quirk) writeFileSync(`${stateFile(name)}.${quirk}`, "");
  return name;
}

function stateFile(name: string): string {
  return join(units, `${name}.service`);
}

function changeCalls(name: string): string[] {
  const log = existsSync(join(units, "calls.log")) ? readFileSync(join(units, "calls.log"), "utf8") : "";
  return log.split("\n").filter((l) => l.endsWith(` ${name}.service`) && !l.startsWith("show "));
}

describe("service behaviour", () => {
  it("is kept when the unit is as promised", async () => {
    const u = unit(true);
    expect(await evaluateOne(`service "${u}" { state = running enabled = true }`, withStandIn)).toMatchObject({ outcome: "kept" });
    const stopped = unit(false, "disabled");
    expect(await evaluateOne(`service "${stopped}.service" { state = stopped enabled = false }`, withStandIn)).toMatchObject({ outcome: "kept" });
  });

  it("drifts when the unit is not as promised and no fitting repair is declared", async () => {
    const u = unit(false, "disabled");
    const r = await evaluateOne(`service "${u}" { enabled = true }`, withStandIn);
    expect(r).toMatchObject({ outcome: "drift", reason: `${u}.service is inactive (dead), promised running (and 1 more)` });
    expect(r.differences.map((d) => d.reason)).toEqual([`${u}.service is inactive (dead), promised running`, `${u}.service is disabled at boot, promised enabled`]);
    // `stop` would not make a unit run: no change is planned
    expect(await evaluateOne(`service "${u}" { repair = stop }`, withStandIn)).toMatchObject({ outcome: "drift", changes: [] });
    expect(changeCalls(u)).toEqual([]);
  });

  it("starts and stops units through systemctl, with the unit after `--`", async () => {
    const stopped = unit(false);
    expect(await evaluateOne(`service "${stopped}" { repair = start }`, withStandIn)).toMatchObject({ outcome: "repaired", reason: expect.stringMatching(new RegExp(`; fixed: systemctl start ${stopped}\\.service$`)) });
    expect(readFileSync(stateFile(stopped), "utf8")).toContain("ActiveState=active");
    expect(changeCalls(stopped)).toEqual([`start -- ${stopped}.service`]);

    const running = unit(true);
    expect(await evaluateOne(`service "${running}" { state = stopped repair = stop }`, withStandIn)).toMatchObject({ outcome: "repaired" });
    expect(readFileSync(stateFile(running), "utf8")).toContain("ActiveState=inactive");
  });

  it("finds systemctl on PATH when no program is given", async () => {
    const u = unit(false);
    const path = process.env["PATH"];
    process.env["PATH"] = `${dir}:${path}`;
    try {
      expect(await evaluateOne(`service "${u}" { repair = restart }`, { roots })).toMatchObject({ outcome: "repaired" });
    } finally {
      process.env["PATH"] = path;
    }
    expect(changeCalls(u)).toEqual([`restart -- ${u}.service`]);
  });

  it("fails when the repair does not bring the unit to its state", async () => {
    const stuck = unit(false, "enabled", "stuck");
    expect(await evaluateOne(`service "${stuck}" { repair = start }`, withStandIn)).toMatchObject({
      outcome: "failed",
      reason: `still not as promised after repair: ${stuck}.service is inactive (dead), promised running`,
    });
    const refused = unit(false, "enabled", "refuse");
    expect(await evaluateOne(`service "${refused}" { repair = start }`, withStandIn)).toMatchObject({
      outcome: "failed",
      reason: `repair failed: systemctl start ${refused}.service: ${systemctl} start exited with status 1: Job for ${refused}.service failed because the control process exited with error code.`,
    });
    // starting cannot enable a unit at boot
    const disabled = unit(false, "disabled");
    expect(await evaluateOne(`service "${disabled}" { enabled = true repair = start }`, withStandIn)).toMatchObject({
      outcome: "failed",
      reason: `still not as promised after repair: ${disabled}.service is disabled at boot, promised enabled`,
    });
  });

  it("is an error, never a false `stopped`, when the state cannot be known", async () => {
    const u = unit(false);
    const noSystemd = await evaluateOne(`service "${u}" { state = stopped }`, { roots: { ...roots, run: join(dir, "no-run") }, systemctl });
    expect(noSystemd.outcome).toBe("error");
    expect(noSystemd.reason).toMatch(new RegExp(`^systemd is not running on this host \\(PID 1 is \`.+\`\\): the state of ${u}.service cannot be known$`));
    expect(await evaluateOne(`service "cvt-not-installed" { state = stopped }`, withStandIn)).toMatchObject({ outcome: "error", reason: "cvt-not-installed.service is not installed on this host" });
    expect(await evaluateOne(`service "${u}" { state = stopped }`, { roots, systemctl: join(dir, "missing") })).toMatchObject({ outcome: "error", reason: "systemctl is not installed" });
  });

  it("in a dry run, plans the systemctl call and leaves the unit as it is", async () => {
    const u = unit(false);
    const before = readFileSync(stateFile(u), "utf8");
    const r = await evaluateOne(`service "${u}" { repair = start }`, { ...withStandIn, dryRun: true });
    expect(r).toMatchObject({ outcome: "drift", reason: `${u}.service is inactive (dead), promised running (dry run: repair not applied)` });
    expect(r.changes).toEqual([{ change: { op: "systemctl", verb: "start", unit: `${u}.service` }, description: `systemctl start ${u}.service`, status: "planned" }]);
    expect(readFileSync(stateFile(u), "utf8")).toBe(before);
    expect(changeCalls(u)).toEqual([]);
  });
});
