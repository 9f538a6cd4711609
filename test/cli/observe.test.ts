// `covenant observe` prints what the host holds, and the host holds text anyone may have chosen:
// process names and command lines, file names, mount points, account names. Each must stay in
// its cell and on its line, and never reach the terminal as an escape sequence. Also: an
// unknown probe names the known ones, and help shows the real defaults.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), `covenant-${prefix}-`));
/** control characters other than the line breaks between rows, and bidirectional controls */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe("covenant observe escapes what the host holds", () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
  });

  it("process names and command lines: a name cannot forge a row or clear the screen", async () => {
    const dir = temp("observe-proc");
    // the kernel's comm is the program's file name (15 bytes at most): a line break and an escape sequence
    // (with a suffix of its own: another checkout's suite on this machine may run the same test)
    const name = `a\nKEPT\u001b[2J${Math.random().toString(36).slice(2, 5)}`;
    const program = join(dir, name);
    copyFileSync("/bin/sleep", program);
    chmodSync(program, 0o755);
    // argv[0] is whatever the starter says: a line break and a forged row
    const child = spawn(program, ["300"], { stdio: "ignore", argv0: "sleep\n1 2 root S forged" });
    children.push(child);
    await new Promise((r) => child.once("spawn", r));
    const r = covenant(["observe", "processes", name]);
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(UNSAFE);
    // (another process of the machine's may end while the table is read: said on a line of its own)
    const lines = r.out.trimEnd().split("\n").filter((l) => !/^skipped: \d+ × process ended while being read$/.test(l));
    expect(lines, r.out).toHaveLength(3); // header, the one process, the count
    expect(lines[1]).toContain(`a\\nKEPT\\x1b[2J${name.slice(-3)}`);
    expect(lines[1]).toContain(`sleep\\n1 2 root S forged 300`);
    // JSON carries the text as it is
    const json = JSON.parse(covenant(["observe", "processes", "--json", name]).out) as { data: { comm: string }[] };
    expect(json.data.map((p) => p.comm)).toEqual([name]);
  });

  it("file names, in `observe file` and `observe locks`", async () => {
    const dir = temp("observe-file");
    const f = join(dir, "x\nKEPT\u001b]0;pwned\u0007");
    writeFileSync(f, "x");
    const file = covenant(["observe", "file", f]);
    expect(file.code).toBe(0);
    expect(file.out).not.toMatch(UNSAFE);
    expect(file.out.trimEnd().split("\n")).toHaveLength(2);
    expect(file.out).toContain(`x\\nKEPT\\x1b]0;pwned\\x07`);
    const missing = covenant(["observe", "file", join(dir, "gone\u001b[2J")]);
    expect(missing.code).toBe(2);
    expect(missing.err).not.toMatch(UNSAFE);
    expect(missing.err).toContain("gone\\x1b[2J does not exist");

    const holder = spawn("flock", ["--exclusive", f, "sleep", "300"], { stdio: "ignore", detached: true });
    children.push(holder);
    let locks = "";
    for (let i = 0; i < 100 && !locks.includes("flock("); i++) {
      await new Promise((r) => setTimeout(r, 30));
      locks = covenant(["observe", "locks", dir]).out;
    }
    expect(locks).not.toMatch(UNSAFE);
    expect(locks.trimEnd().split("\n")).toHaveLength(3); // header, the lock, the count
    expect(locks).toContain(`${dir}/x\\nKEPT\\x1b]0;pwned\\x07`);
    process.kill(-holder.pid!, "SIGKILL");
  });

  it("mount points, from a mountinfo whose octal escapes decode to a line break", () => {
    const proc = temp("observe-mounts");
    mkdirSync(join(proc, "self"));
    writeFileSync(join(proc, "self", "mountinfo"), "22 1 0:21 / /srv/x\\012KEPT\\033[2J rw,nosuid - tmpfs tmp\\033 rw\n");
    const r = covenant(["observe", "mounts", "--proc-root", proc]);
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(UNSAFE);
    expect(r.out.trimEnd().split("\n")).toHaveLength(2);
    expect(r.out).toContain("/srv/x\\nKEPT\\x1b[2J");
  });

  it("account and group names", () => {
    const etc = temp("observe-etc");
    writeFileSync(join(etc, "passwd"), "root:x:0:0:root:/root:/bin/sh\nev\u001b[2Jil:x:0:0::/:/bin/sh\n");
    writeFileSync(join(etc, "group"), "wheel:x:10:ev\u001b[2Jil\nfin\nance:x:11:\n");
    const r = covenant(["observe", "accounts", "--etc-root", etc]);
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(UNSAFE);
    expect(r.out).toContain("uid 0 accounts: root, ev\\x1b[2Jil");
    const unknown = covenant(["observe", "accounts", "no\u001b[2Jsuch", "--etc-root", etc]);
    expect(unknown.out).toContain("no group `no\\x1b[2Jsuch`");
  });
});

describe("covenant observe, asked for what it does not know", () => {
  it("names the known probes, with a suggestion, and exits 2", () => {
    const r = covenant(["observe", "conections"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("covenant observe: unknown probe `conections` (did you mean `connections`?); probes: connections, locks, facts, system, packages, sysctl, modules, jobs, mounts, file, service, accounts, shadow, processes\n");
    const other = covenant(["observe", "x\u001b[2J"]);
    expect(other.code).toBe(2);
    expect(other.err).toContain("unknown probe `x\\x1b[2J`; probes: connections, locks,");
  });
});

describe("help", () => {
  it("shows the real defaults: the current directory for paths, nothing for an off flag", () => {
    for (const cmd of ["check", "fmt", "run"]) {
      const h = covenant([cmd, "--help"]).out.replace(/\s+/g, " ");
      expect(h, cmd).toContain("policy files or directories (searched for *.promise) (default: the current directory)");
    }
    for (const args of [["check"], ["fmt"], ["run"], ["history"], ["verify"], ["observe"], ["observe", "connections"]]) {
      const h = covenant([...args, "--help"]).out;
      expect(h, args.join(" ")).not.toContain("default: []");
      expect(h, args.join(" ")).not.toContain("default: false");
    }
    const run = covenant(["run", "--help"]).out.replace(/\s+/g, " ");
    expect(run).toContain('--timeout <duration> stop evaluating new promises after this long, such as 10m (default: "10m")');
    expect(run).toContain("--etc-root <dir> read /etc/passwd, group, shadow, login.defs and os-release from here");
  });
});

describe("covenant observe jobs", () => {
  it("lists cron jobs and systemd timers with their user and schedule, and what cron passes over", () => {
    const root = join(process.cwd(), "test/fixtures/roots/cron-mixed");
    const r = covenant(["observe", "jobs", "--config-root", root]);
    expect(r.code, r.err).toBe(0);
    const rows = r.out.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^SOURCE\s+USER\s+SCHEDULE\s+COMMAND\s+AT$/);
    expect(rows).toContainEqual(expect.stringMatching(/^cron_d\s+backup\s+00 02 \* \* mon-fri\s+\/usr\/local\/bin\/ledger-backup --full\s+\/etc\/cron.d\/backup:3$/));
    expect(rows).toContainEqual(expect.stringMatching(/^timer\s+root\s+OnCalendar=weekly \(not enabled\)\s+\/sbin\/fstrim/));
    expect(r.err).toContain("covenant: skipped /etc/cron.daily/notes: not run: run-parts runs only executable files\n");
    const json = JSON.parse(covenant(["observe", "--json", "jobs", "--config-root", root]).out);
    expect(json.data.map((j: { source: string }) => j.source)).toContain("run_parts");
  });
});

describe("covenant observe modules and sysctl --boot", () => {
  const kmodRoot = join(process.cwd(), "test/fixtures/roots/kmod-cis");
  const kmodProc = join(process.cwd(), "test/fixtures/proc/kmod-desktop");

  it("shows each module's state and what modprobe.d says of it", () => {
    const r = covenant(["observe", "modules", "--proc-root", kmodProc, "--config-root", kmodRoot, "usb-storage", "sctp", "dccp", "freevxfs"]);
    expect(r.code, r.err).toBe(0);
    const rows = r.out.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^MODULE\s+LOADED\s+USED BY\s+INSTEAD OF LOADING\s+BLACKLISTED\s+LOADED AT BOOT$/);
    expect(rows[1]).toMatch(/^usb_storage\s+yes\s+uas\s+\/bin\/false \(\/etc\/modprobe.d\/cis.conf:5\)/);
    expect(rows[2]).toMatch(/^sctp\s+no\s+\/sbin\/modprobe --ignore-install sctp \(\/etc\/modprobe.d\/00-site.conf:2\)/);
    expect(rows[3]).toMatch(/^dccp\s+no\s+\/etc\/modprobe.d\/cis.conf:7/);
    expect(rows[4]).toMatch(/^freevxfs\s+no\s+\/bin\/true \(\/etc\/modprobe.d\/cis.conf:4\)\s+\/etc\/modules-load.d\/backup.conf:3$/);
    const json = covenant(["observe", "--json", "--proc-root", kmodProc, "modules", "--config-root", kmodRoot]);
    expect(JSON.parse(json.out).data.map((m: { module: string }) => m.module)).toEqual(["nf_conntrack", "usb_storage", "uas", "vboxdrv", "snd_hda_codec_hdmi", "ipv6", "cramfs"]);
    expect(covenant(["observe", "modules", "../x"])).toMatchObject({ code: 2 });
  });

  it("shows every line that sets a key at boot, and the one that wins", () => {
    const root = join(process.cwd(), "test/fixtures/roots/sysctl-mixed");
    const r = covenant(["observe", "sysctl", "--boot", "--config-root", root, "kernel.ostype", "kernel.randomize_va_space"]);
    expect(r.code, r.err).toBe(0);
    const rows = r.out.trimEnd().split("\n");
    expect(rows[1]).toMatch(/^kernel\.ostype\s+Linux\s+\(kernel default\)\s*$/);
    expect(rows[2]).toMatch(/^kernel\.randomize_va_space\s+\S+\s+1 \(\/usr\/lib\/sysctl\.d\/protect-links\.conf:2\)\s+\/etc\/sysctl\.d\/10-hardening\.conf:5 = 2; \/usr\/lib\/sysctl\.d\/protect-links\.conf:2 = 1$/);
  });
});
