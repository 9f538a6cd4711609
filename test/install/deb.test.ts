// The Debian package (scripts/build-deb.mjs, docs/install.md): built once from this tree,
// installed by dpkg into an empty temporary root, run there, upgraded, removed and purged.
import { createHash } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../helpers/cli.ts";
import { mailAndTextConfig } from "../helpers/notify-channels.ts";
import { startSmtpServer } from "../helpers/smtp-server.ts";
import { startTwilioStandin } from "../helpers/twilio-standin.ts";
import { parseCronFile, runCronCommand } from "./cron-file.ts";
import { PackageRoot } from "./package-root.ts";

const out = mkdtempSync(join(tmpdir(), "covenant-deb-"));
const root = new PackageRoot();
let deb = "";

function buildDeb(dir: string, compress: string): { deb: string; printed: string } {
  const r = spawnSync(process.execPath, ["scripts/build-deb.mjs", "--out", dir, "--compress", compress], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`build-deb failed (${r.status}): ${r.stderr}`);
  const name = readdirSync(dir).find((f) => /^covenant_.*\.deb$/.test(f))!;
  return { deb: join(dir, name), printed: r.stdout };
}

beforeAll(() => {
  ensureBuilt();
  const built = buildDeb(out, "zstd");
  // the build names the package and its size
  expect(built.printed).toMatch(new RegExp(`^${built.deb.replace(/[.]/g, "\\.")}: \\d+\\.\\d MiB \\(${statSync(built.deb).size} bytes`));
  // set aside: the second build below goes to the same directory (and reuses its Depends)
  deb = join(out, "first-build.deb");
  renameSync(built.deb, deb);
}, 240_000);

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  root.remove();
});

/** Whether a path is there, a link included whatever it points to (existsSync follows links: these point into the root's /lib, which is not this host's). */
const present = (path: string) => lstatSync(path, { throwIfNoEntry: false }) !== undefined;
const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
/** sha256 of a command's output, streamed: the archives are a hundred megabytes. */
const sha256Of = (argv: string[]) => spawnSync("sh", ["-c", '"$@" | sha256sum', "sh", ...argv], { encoding: "utf8" }).stdout.split(" ")[0];
const debField = (field: string) => spawnSync("dpkg-deb", ["-f", deb, field], { encoding: "utf8" }).stdout.trim();

/** A PATH whose first `node` must never run: it says so and exits 99. */
function pathWithWrongNode(): string {
  const dir = join(out, "wrong-node");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "node"), "#!/bin/sh\necho \"wrong node: $*\" >&2\nexit 99\n");
  chmodSync(join(dir, "node"), 0o755);
  return `${dir}:${process.env["PATH"]}`;
}

/** A command run without blocking this process: the test's servers answer it meanwhile. */
function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...base } = process.env;
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function covenant(...args: string[]) {
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...env } = process.env;
  return spawnSync(root.path("usr/bin/covenant"), args, { encoding: "utf8", env: { ...env, PATH: pathWithWrongNode(), NODE_OPTIONS: "" } });
}

/** Every file, link and directory under the root but dpkg's own database, as paths relative to it. */
function tree(dir = root.dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (relative(root.dir, path) === "var/lib/dpkg") return [];
    return e.isDirectory() ? [`${relative(root.dir, path)}/`, ...tree(path)] : [relative(root.dir, path)];
  });
}

/** The package's cron jobs as they would run once enabled, with the host's paths moved into the root. */
function enabledCronJob(which: "run" | "verify") {
  const file = parseCronFile(readFileSync(root.path("etc/cron.d/covenant"), "utf8"));
  expect(file.jobs).toEqual([]); // shipped disabled
  const job = file.disabledJobs.find((j) => j.command.includes(`/usr/bin/covenant ${which} `))!;
  const command = job.command.replace(/\/(usr\/bin\/covenant|var\/lib\/covenant|var\/log\/covenant|etc\/covenant)/g, (p) => root.path(p));
  expect(command).not.toMatch(/ \/(usr|var|etc)\//);
  return { command, env: { ...file.env, PATH: `${pathWithWrongNode()}` } };
}

const lib = "usr/lib/covenant";
/** The units the package installs, not enabled: every one of examples/systemd/. */
const units = ["covenant.service", "covenant.timer", "covenant-verify.service", "covenant-verify.timer", "covenant-watch.service"];
const policy = 'stakeholder ops\ncontrol "PKG-1" {\n  title = "t"\n  owner = ops\n  file "%FILE%" { mode = 0640 }\n}\n';

describe("the Debian package", () => {
  it("is built the same from the same tree, with no devDependency and the node that built it", () => {
    const again = buildDeb(out, "none").deb;
    for (const part of ["--fsys-tarfile", "--ctrl-tarfile"]) {
      const a = sha256Of(["dpkg-deb", part, deb]);
      expect(a).toMatch(/^[0-9a-f]{64}$/);
      expect(a).not.toBe(sha256(""));
      expect(sha256Of(["dpkg-deb", part, again]), part).toBe(a);
    }
    rmSync(again);
    const files = spawnSync("dpkg-deb", ["-c", deb], { encoding: "utf8", maxBuffer: 1 << 24 }).stdout;
    const modules = [...files.matchAll(/\.\/usr\/lib\/covenant\/node_modules\/([^/\s]+)\/\s/g)].map((m) => m[1]);
    // what the bundle leaves out (the native addon better-sqlite3) and what it needs: production
    // packages only; the channel libraries are in the bundle
    expect([...modules].sort()).toEqual(["better-sqlite3", "bindings", "file-uri-to-path"]);
    const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as { packages: Record<string, { dev?: boolean }> };
    for (const m of modules) expect(lock.packages[`node_modules/${m}`]?.dev, `${m} is a production dependency`).not.toBe(true);
    expect(modules).not.toContain("chevrotain"); // bundled
    expect(files).not.toMatch(/vitest|typescript|esbuild|prebuild-install|smtp-server|mailparser|selfsigned|fast-check|better-sqlite3\/(deps|src)\//);
    expect(files).not.toMatch(/(covenant|run)\.blob|dist\/snapshot\/node\s/); // built at install, for the carried node
    // what a run from its snapshot requires at run time (scripts/build-run-snapshot.mjs)
    for (const part of ["dist/snapshot/run.cjs", "dist/chunks/re2js.cjs", "dist/chunks/nodemailer.cjs", "dist/chunks/twilio.cjs"]) expect(files).toContain(`./${lib}/${part}\n`);
    // Depends: Debian's shared libraries, satisfied here; never Debian's nodejs (18)
    const depends = debField("Depends").split(/,\s*/);
    expect(depends.join()).not.toMatch(/node/);
    for (const dep of depends) {
      const [, name, op, version] = /^(\S+)(?: \((\S+) (\S+)\))?$/.exec(dep)!;
      const installed = spawnSync("dpkg-query", ["-W", "-f", "${Version}", name!], { encoding: "utf8" }).stdout;
      expect(installed, name).not.toBe("");
      if (op) expect(spawnSync("dpkg", ["--compare-versions", installed, op.replace(">=", "ge"), version!]).status, dep).toBe(0);
    }
  }, 120_000);

  it("installs into an empty root: files, owners and modes, the start-up snapshot for its node", () => {
    const r = root.dpkg("--install", deb);
    expect(r.status, r.stderr).toBe(0);
    expect(readlinkSync(root.path("usr/bin/covenant"))).toBe("../lib/covenant/bin/covenant");
    const expected: Record<string, string> = {
      "var/lib/covenant": "0:0 0700",
      "var/log/covenant": "0:0 0750",
      "etc/covenant/policies": "0:0 0755",
      "etc/cron.d/covenant": "0:0 0644",
      [`${lib}/bin/covenant`]: "0:0 0755",
      [`${lib}/node/bin/node`]: "0:0 0755",
      [`${lib}/build/Release/sock_diag.node`]: "0:0 0644",
      [`${lib}/build/Release/safe_fs.node`]: "0:0 0644",
      [`${lib}/build/Release/seal.node`]: "0:0 0644",
      [`${lib}/build/Release/fd_scan.node`]: "0:0 0644",
      [`${lib}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`]: "0:0 0644",
      "lib/systemd/system/covenant.service": "0:0 0644",
      "lib/systemd/system/covenant.timer": "0:0 0644",
      "lib/systemd/system/covenant-verify.service": "0:0 0644",
      "lib/systemd/system/covenant-verify.timer": "0:0 0644",
      "lib/systemd/system/covenant-watch.service": "0:0 0644",
    };
    expect(root.ownersAndModes(Object.keys(expected))).toEqual(expected);
    expect(readdirSync(root.path("lib/systemd/system")).sort()).toEqual(readdirSync("examples/systemd").filter((f) => /\.(service|timer)$/.test(f)).sort());
    expect(readdirSync(root.path("var/lib/covenant"))).toEqual([]);
    expect(readdirSync(root.path("etc/covenant/policies"))).toEqual([]);
    for (const unit of units) {
      expect(readFileSync(root.path(`lib/systemd/system/${unit}`), "utf8"), unit).toBe(readFileSync(`examples/systemd/${unit}`, "utf8"));
    }
    // the runtime is the node that built the package, unchanged
    expect(sha256Of(["cat", root.path(`${lib}/node/bin/node`)])).toBe(sha256Of(["cat", process.execPath]));
    // postinst built the snapshot with it: its record names the installed node
    const st = statSync(root.path(`${lib}/node/bin/node`), { bigint: true });
    expect(readFileSync(root.path(`${lib}/dist/snapshot/node`), "utf8").split("\n")[0]).toBe(`${st.dev} ${st.ino} ${st.size} ${st.mtimeNs / 1_000_000_000n}`);
  }, 60_000);

  it("sends through its bundled channels on its own node: an email over STARTTLS and a text", async () => {
    const smtp = await startSmtpServer();
    const twilio = await startTwilioStandin();
    try {
      const dir = mkdtempSync(join(out, "notify-"));
      writeFileSync(join(dir, "smtp.pass"), smtp.password, { mode: 0o600 });
      const config = join(dir, "covenant.yaml");
      writeFileSync(config, mailAndTextConfig({ smtp, twilio, passwordFile: join(dir, "smtp.pass"), tokenEnv: "DEB_TWILIO_TOKEN" }), { mode: 0o600 });
      const r = await run(root.path("usr/bin/covenant"), ["notify", "test", "--to", "ops", "--config", config], { PATH: pathWithWrongNode(), NODE_OPTIONS: "", DEB_TWILIO_TOKEN: twilio.authToken });
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^sent {2}mail → Olga <olga@example\.com>: /m);
      expect(r.stdout).toMatch(/^sent {2}sms → Olga <\+15550000001>: /m);
      expect(r.code).toBe(0);
      expect(smtp.messages).toHaveLength(1);
      expect(twilio.messages).toHaveLength(1);
    } finally {
      await smtp.close();
      await twilio.close();
    }
  });

  it("runs the installed covenant on its own node: --version, check, a sandbox run, verify", () => {
    expect(covenant("--version").stdout.trim()).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
    const examples = root.path("usr/share/covenant/examples/sox");
    const check = covenant("check", examples);
    expect(check.stderr).toBe("");
    expect(check.stdout).toContain("4 files checked: 0 errors, 1 warning"); // W301: no /etc/covenant/covenant.yaml
    expect(check.status).toBe(0);
    // check starts from the snapshot: a damaged one makes it fail, the intact one gives the same answer
    const blob = root.path(`${lib}/dist/snapshot/covenant.blob`);
    const saved = readFileSync(blob);
    writeFileSync(blob, "not a snapshot");
    expect(covenant("check", examples).status).not.toBe(0);
    writeFileSync(blob, saved);

    // the control library: clean on its own, and importable from a site's policy with --include
    const library = root.path("usr/share/covenant/policies");
    const libraryCheck = covenant("check", library);
    expect(libraryCheck.stdout, libraryCheck.stderr).toMatch(/files checked: 0 errors/);
    expect(libraryCheck.status).toBe(0);
    const site = root.path("tmp/site");
    mkdirSync(site, { recursive: true });
    writeFileSync(join(site, "site.promise"), `import "${library}/sox-itgc/access.promise"\n`);
    expect(covenant("check", site).stdout).toContain("E120");
    const siteCheck = covenant("check", "--include", library, site);
    expect(siteCheck.stdout, siteCheck.stderr).toMatch(/files checked: 0 errors/);
    expect(siteCheck.status).toBe(0);

    const state = root.path("var/lib/covenant");
    const run = covenant("run", "--sandbox", "--sandbox-dir", root.path("tmp/sandbox"), "--state", state, examples);
    expect(run.stdout, run.stderr).toMatch(/12 controls, 21 promises: .*\d+ kept/);
    expect([0, 1]).toContain(run.status);
    expect(readdirSync(state).sort()).toEqual(expect.arrayContaining(["host.key", "ledger.head", "state.db"]));
    const verify = covenant("verify", "--state", state);
    expect(verify.stdout).toMatch(/^intact: /);
    expect(verify.status).toBe(0);

    // a run of an unchanged policy starts from run's own snapshot (a damaged one makes it fail),
    // and a run that needs more than it holds (a sandbox's, above) is handed to the bundle
    const ledger = root.path("tmp/run-ledger.dat");
    writeFileSync(ledger, "", { mode: 0o640 });
    writeFileSync(join(site, "run.promise"), policy.replace("%FILE%", ledger));
    const runState = root.path("tmp/run-state");
    for (let i = 0; i < 2; i++) expect(covenant("run", "--quiet", "--state", runState, join(site, "run.promise"))).toMatchObject({ status: 0, stdout: "", stderr: "" });
    const runBlob = root.path(`${lib}/dist/snapshot/run.blob`);
    const savedRun = readFileSync(runBlob);
    writeFileSync(runBlob, "not a snapshot");
    expect(covenant("run", "--quiet", "--state", runState, join(site, "run.promise")).status).not.toBe(0);
    writeFileSync(runBlob, savedRun);
    expect(covenant("run", "--quiet", "--state", runState, join(site, "run.promise")).status).toBe(0);
  }, 60_000);

  it("ships its cron jobs disabled; enabled, they run the installed covenant and mail only its failures", () => {
    const policies = root.path("etc/covenant/policies");
    const file = root.path("srv/ledger.dat");
    mkdirSync(root.path("srv"), { recursive: true });
    writeFileSync(file, "");
    chmodSync(file, 0o640);
    writeFileSync(join(policies, "pkg.promise"), policy.replace("%FILE%", file));
    const run = enabledCronJob("run");
    expect(runCronCommand(run.command, run.env).mail).toBe("");
    expect(readFileSync(root.path("var/log/covenant/last-run.txt"), "utf8")).toMatch(/KEPT +PKG-1/);
    const verify = enabledCronJob("verify");
    expect(runCronCommand(verify.command, verify.env).mail).toBe("");
    writeFileSync(join(policies, "broken.promise"), "control {\n");
    expect(runCronCommand(run.command, run.env).mail).toMatch(/broken\.promise:1:\d+: error/);
    rmSync(join(policies, "broken.promise"));
  }, 60_000);

  it("upgrades in place: the state, host.key and a local edit of the cron file are kept, the snapshot rebuilt", () => {
    const keep = ["var/lib/covenant/host.key", "var/lib/covenant/state.db", "var/lib/covenant/ledger.head"];
    const before = keep.map((p) => sha256(readFileSync(root.path(p))));
    appendFileSync(root.path("etc/cron.d/covenant"), "# edited on this host\n");
    const r = root.dpkg("--install", deb);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Unpacking covenant \(.*\) over \(/);
    expect(keep.map((p) => sha256(readFileSync(root.path(p))))).toEqual(before);
    expect(root.ownersAndModes(["var/lib/covenant"])).toEqual({ "var/lib/covenant": "0:0 0700" });
    expect(readFileSync(root.path("etc/cron.d/covenant"), "utf8")).toMatch(/# edited on this host\n$/);
    expect(existsSync(root.path(`${lib}/dist/snapshot/covenant.blob`))).toBe(true);
    expect(existsSync(root.path(`${lib}/dist/snapshot/run.blob`))).toBe(true);
    expect(covenant("verify", "--state", root.path("var/lib/covenant")).stdout).toMatch(/^intact: /);
  }, 60_000);

  it("removes the program but keeps the configuration and the state; purge keeps only the state, and says so", () => {
    // an administrator enabled the timer (what `systemctl enable covenant.timer` makes)
    mkdirSync(root.path("etc/systemd/system/timers.target.wants"), { recursive: true });
    symlinkSync("/lib/systemd/system/covenant.timer", root.path("etc/systemd/system/timers.target.wants/covenant.timer"));
    const key = sha256(readFileSync(root.path("var/lib/covenant/host.key")));
    const removed = root.dpkg("--remove", "covenant");
    expect(removed.status, removed.stderr).toBe(0);
    for (const gone of [lib, "usr/bin/covenant", "lib/systemd/system/covenant.service", "lib/systemd/system/covenant-watch.service", "usr/share/covenant"]) expect(existsSync(root.path(gone)), gone).toBe(false);
    for (const kept of ["etc/cron.d/covenant", "etc/covenant/policies/pkg.promise", "var/log/covenant/last-run.txt", "var/lib/covenant/host.key"]) expect(existsSync(root.path(kept)), kept).toBe(true);
    // the cron file outlives the program: its jobs then do nothing, and mail nothing
    const run = enabledCronJob("run");
    expect(runCronCommand(run.command, run.env)).toEqual({ mail: "", code: 0 });

    const purged = root.dpkg("--purge", "covenant");
    expect(purged.status, purged.stderr).toBe(0);
    expect(purged.stderr).toContain(`covenant: ${root.path("var/lib/covenant")} was kept: it holds the tamper-evident history (state.db) and the key that verifies it (host.key).`);
    expect(sha256(readFileSync(root.path("var/lib/covenant/host.key")))).toBe(key);
    // left: the state, the policy written by hand (and its directories), this test's own files
    const left = tree().filter((p) => !p.startsWith("tmp/") && !p.startsWith("srv/"));
    // state.db-wal and -shm: left by `verify`, a reader that may not checkpoint (docs/store.md); they belong to the store
    const files = left.filter((p) => !p.endsWith("/") && !/state\.db-(wal|shm)$/.test(p)).sort();
    expect(files).toEqual(["etc/covenant/policies/pkg.promise", "var/lib/covenant/host.key", "var/lib/covenant/ledger.head", "var/lib/covenant/state.db"]);
    expect(left).not.toContain("var/log/covenant/");
    expect(present(root.path("etc/systemd/system/timers.target.wants/covenant.timer"))).toBe(false);
    expect(spawnSync("dpkg-query", [`--admindir=${root.path("var/lib/dpkg")}`, "-W", "covenant"]).status).not.toBe(0);
  }, 60_000);
});

/**
 * The maintainer scripts where systemd runs. systemd is not PID 1 here, so the package is
 * installed into a root that dpkg chroots into to run its scripts, as on a host (DPKG_ROOT
 * empty), where /run/systemd/system exists and the `systemctl` on PATH is a stand-in that
 * records its arguments.
 */
describe.skipIf(process.getuid?.() !== 0)("the Debian package's scripts, where systemd runs", () => {
  const host = new PackageRoot(true);
  afterAll(() => host.remove());
  const calls = () => (existsSync(host.path("systemctl.argv")) ? readFileSync(host.path("systemctl.argv"), "utf8").split("\n").filter(Boolean) : []);
  const since = (n: number) => calls().slice(n);

  beforeAll(() => {
    host.furnish(["/bin/mkdir", "/bin/rm"]);
    mkdirSync(host.path("run/systemd/system"), { recursive: true });
    mkdirSync(host.path("usr/bin"), { recursive: true });
    writeFileSync(host.path("usr/bin/systemctl"), '#!/bin/sh\necho "$*" >>/systemctl.argv\n', { mode: 0o755 });
  });

  it("reload systemd and restart a running watcher on install and upgrade, stop the timers and the watcher on removal", () => {
    const installed = host.dpkg("--install", deb);
    expect(installed.status, installed.stderr).toBe(0);
    // the unit files are read again; a watcher already running (none here) would run the new program
    expect(calls()).toEqual(["--system daemon-reload", "try-restart covenant-watch.service"]);
    // an upgrade: nothing stopped before, the running watcher restarted after
    const upgraded = host.dpkg("--install", deb);
    expect(upgraded.status, upgraded.stderr).toBe(0);
    expect(since(2)).toEqual(["--system daemon-reload", "try-restart covenant-watch.service"]);
    // the administrator enabled the watcher and the timers
    for (const [target, unit] of [["multi-user.target.wants", "covenant-watch.service"], ["timers.target.wants", "covenant.timer"]] as const) {
      mkdirSync(host.path(`etc/systemd/system/${target}`), { recursive: true });
      symlinkSync(`/lib/systemd/system/${unit}`, host.path(`etc/systemd/system/${target}/${unit}`));
    }
    const removed = host.dpkg("--remove", "covenant");
    expect(removed.status, removed.stderr).toBe(0);
    expect(since(4)).toEqual(["stop covenant.timer covenant-verify.timer covenant-watch.service", "--system daemon-reload"]);
    // kept on removal, for a reinstall; gone on purge
    expect(present(host.path("etc/systemd/system/multi-user.target.wants/covenant-watch.service"))).toBe(true);
    const purged = host.dpkg("--purge", "covenant");
    expect(purged.status, purged.stderr).toBe(0);
    expect(since(6)).toEqual(["--system daemon-reload"]);
    for (const link of ["multi-user.target.wants/covenant-watch.service", "timers.target.wants/covenant.timer"]) {
      expect(present(host.path(`etc/systemd/system/${link}`)), link).toBe(false);
    }
  }, 120_000);
});
