import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, read, unitName } from "../../src/probes/services.ts";

// systemd is not PID 1 on these machines: a stand-in `systemctl` answers as systemd would,
// and a marker directory stands for /run/systemd/system.
const dir = mkdtempSync(join(tmpdir(), "covenant-systemctl-"));
const runDir = join(dir, "run-systemd-system");
mkdirSync(runDir);
const standIn = join(dir, "systemctl");
writeFileSync(
  standIn,
  `#!/bin/sh
# arguments: show --property=... --no-pager -- UNIT
echo "$@" >> "${join(dir, "calls.log")}"
for unit; do :; done
[ "$4" = "--" ] || { echo "the unit must follow --" >&2; exit 2; }
case "$unit" in
  postgresql.service) printf 'LoadState=loaded\\nActiveState=active\\nSubState=running\\nUnitFileState=enabled\\nMainPID=2185\\n' ;;
  cron.service) printf 'LoadState=loaded\\nActiveState=inactive\\nSubState=dead\\nUnitFileState=disabled\\nMainPID=0\\n' ;;
  broken.service) printf 'LoadState=loaded\\n' ;;
  slow.service) sleep 5 ;;
  failing.service) echo "Failed to connect to bus: No such file or directory" >&2; exit 1 ;;
  *) printf 'LoadState=not-found\\nActiveState=inactive\\nSubState=dead\\nUnitFileState=\\nMainPID=0\\n' ;;
esac
`,
);
chmodSync(standIn, 0o755);
const opts = { systemctl: standIn, runDir };
const roots = { proc: "/proc" };

describe("services probe", () => {
  it("names units as systemctl does", () => {
    expect(unitName("postgresql")).toBe("postgresql.service");
    expect(unitName("backup.timer")).toBe("backup.timer");
    expect(parse("A=1\nB=x=y\n\nnonsense")).toEqual(new Map([["A", "1"], ["B", "x=y"]]));
  });

  it("reads running and stopped units", () => {
    expect(read("postgresql", roots, opts)).toEqual({
      ok: true,
      skipped: [],
      value: { unit: "postgresql.service", loadState: "loaded", activeState: "active", subState: "running", unitFileState: "enabled", mainPid: 2185 },
    });
    expect(read("cron", roots, opts)).toMatchObject({ ok: true, value: { activeState: "inactive", subState: "dead", mainPid: 0 } });
  });

  it("looks for systemd's marker under the run root when no marker directory is given", () => {
    const runRoot = join(dir, "run");
    mkdirSync(join(runRoot, "systemd", "system"), { recursive: true });
    expect(read("postgresql", { proc: "/proc", run: runRoot }, { systemctl: standIn })).toMatchObject({ ok: true, value: { activeState: "active" } });
    expect(read("postgresql", { proc: "/proc", run: join(dir, "no-run") }, { systemctl: standIn })).toMatchObject({ ok: false, error: { code: "unavailable" } });
  });

  it("passes the unit as one argv element after `--`, never through a shell or as an option", () => {
    expect(read("pg; rm -rf /", roots, opts)).toMatchObject({ ok: false, error: { code: "malformed" } });
    expect(read("-Hroot@db.example.com", roots, opts)).toMatchObject({ ok: false, error: { code: "malformed" } });
  });

  it("rejects a MainPID that is not a number instead of reading 0", () => {
    const odd = join(dir, "systemctl-odd");
    writeFileSync(odd, "#!/bin/sh\nprintf 'LoadState=loaded\\nActiveState=active\\nSubState=running\\nUnitFileState=enabled\\nMainPID=\\n'\n");
    chmodSync(odd, 0o755);
    expect(read("pg", roots, { systemctl: odd, runDir })).toMatchObject({ ok: false, error: { code: "malformed", message: "systemctl show pg.service reported MainPID ``" } });
  });

  it("tells a missing unit, a failing or silent systemctl and a truncated answer apart", () => {
    expect(read("nope", roots, opts)).toMatchObject({ ok: false, error: { code: "not-found", message: "nope.service is not installed on this host" } });
    expect(read("failing", roots, opts)).toMatchObject({ ok: false, error: { code: "io", message: "systemctl show failing.service failed: Failed to connect to bus: No such file or directory" } });
    expect(read("broken", roots, opts)).toMatchObject({ ok: false, error: { code: "malformed" } });
    expect(read("slow", roots, { ...opts, timeoutMs: 300 })).toMatchObject({ ok: false, error: { code: "io", message: expect.stringContaining("did not answer") } });
  });

  it("says systemd is not running, on this very machine, instead of reporting stopped", () => {
    const r = read("postgresql", roots);
    expect(r).toMatchObject({ ok: false, error: { code: "unavailable" } });
    if (!r.ok) expect(r.error.message).toMatch(/^systemd is not running on this host \(PID 1 is `.+`\): the state of postgresql.service cannot be known$/);
  });
});

describe("recorded answers (a sandbox's answers/units.json)", () => {
  const answers = mkdtempSync(join(tmpdir(), "covenant-answers-"));
  writeFileSync(join(answers, "units.json"), JSON.stringify({ units: { "sshd.service": { LoadState: "loaded", ActiveState: "inactive", SubState: "dead", UnitFileState: "disabled", MainPID: "0" } } }));
  // a systemctl that would fail the test if it were run
  const never = { systemctl: "/nonexistent/systemctl", runDir };

  it("are read instead of systemctl; a unit not listed is one systemd does not know", () => {
    expect(read("sshd", { proc: "/proc", answers }, never)).toEqual({ ok: true, skipped: [], value: { unit: "sshd.service", loadState: "loaded", activeState: "inactive", subState: "dead", unitFileState: "disabled", mainPid: 0 } });
    expect(read("telnet.socket", { proc: "/proc", answers }, never)).toMatchObject({ ok: false, error: { code: "not-found", message: "telnet.socket is not installed on this host" } });
  });

  it("a broken answers file is malformed, and without one systemctl is asked as before", () => {
    const broken = mkdtempSync(join(tmpdir(), "covenant-answers-"));
    writeFileSync(join(broken, "units.json"), "{ not json");
    expect(read("sshd", { proc: "/proc", answers: broken }, never)).toMatchObject({ ok: false, error: { code: "malformed" } });
    const empty = mkdtempSync(join(tmpdir(), "covenant-answers-"));
    expect(read("sshd", { proc: "/proc", answers: empty }, never)).toMatchObject({ ok: false, error: { code: "unavailable", message: "systemctl is not installed" } });
  });

  it("a file swapped for a link, a device or a huge file is refused, and what is not JSON is never quoted", () => {
    const secret = join(mkdtempSync(join(tmpdir(), "covenant-secret-")), "db.env");
    writeFileSync(secret, "DB_PASSWORD=hunter2-not-json\n", { mode: 0o600 });
    const linked = mkdtempSync(join(tmpdir(), "covenant-answers-"));
    symlinkSync(secret, join(linked, "units.json"));
    const viaLink = read("sshd", { proc: "/proc", answers: linked }, never);
    expect(viaLink).toMatchObject({ ok: false, error: { code: "malformed", message: `${join(linked, "units.json")} is a symbolic link, not a recorded answer` } });
    const device = mkdtempSync(join(tmpdir(), "covenant-answers-"));
    symlinkSync("/dev/zero", join(device, "units.json"));
    expect(read("sshd", { proc: "/proc", answers: device }, never)).toMatchObject({ ok: false, error: { code: "malformed" } });
    const copied = mkdtempSync(join(tmpdir(), "covenant-answers-"));
    writeFileSync(join(copied, "units.json"), "DB_PASSWORD=hunter2-not-json\n");
    const notJson = read("sshd", { proc: "/proc", answers: copied }, never);
    expect(notJson).toMatchObject({ ok: false, error: { code: "malformed", message: `${join(copied, "units.json")} is not valid JSON` } });
    expect(JSON.stringify([viaLink, notJson])).not.toContain("hunter2");
    const huge = mkdtempSync(join(tmpdir(), "covenant-answers-"));
    writeFileSync(join(huge, "units.json"), "");
    truncateSync(join(huge, "units.json"), (16 << 20) + 1);
    expect(read("sshd", { proc: "/proc", answers: huge }, never)).toMatchObject({ ok: false, error: { code: "malformed", message: expect.stringContaining("more than a recorded answer may be") } });
  });
});
