// bench/policies' scene: the library's SSG refs, the rules the Debian 11 datastream has, the
// tailoring file that selects exactly the shared ones, a fixture host's sandbox (Covenant's run)
// and the probe root oscap reads (a copy of that sandbox's root), and oscap's results.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

export const datastream = "/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml";
export const library = resolve("policies/sox-itgc");
export const fixtures = resolve("policies/fixtures");
const rulePrefix = "xccdf_org.ssgproject.content_rule_";
export const profileId = "xccdf_covenant.bench_profile_sox_shared";

/** Each control of the library: its file and the SSG rule ids its `refs` name ("SSG <rule_id>"). */
export function libraryControls() {
  const controls = new Map();
  for (const file of readdirSync(library).filter((f) => f.endsWith(".promise")).sort()) {
    let current;
    for (const line of readFileSync(join(library, file), "utf8").split("\n")) {
      const start = /^control "([^"]+)"/.exec(line);
      if (start) {
        current = { id: start[1], file, rules: [] };
        controls.set(current.id, current);
      }
      if (current) for (const ref of line.matchAll(/"SSG ([a-z0-9_-]+)"/g)) current.rules.push(ref[1]);
      if (line === "}") current = undefined;
    }
  }
  return controls;
}

/** The ids of the XCCDF Rule elements of the datastream (not every `content_rule_` string is one). */
export function datastreamRules() {
  const text = readFileSync(datastream, "utf8");
  const re = new RegExp(`<(?:[\\w.-]+:)?Rule\\b[^>]*\\bid="${rulePrefix}([a-z0-9_-]+)"`, "g");
  return new Set([...text.matchAll(re)].map((m) => m[1]));
}

/**
 * SSG's variables that the shared rules read, set to what the library accepts (its CIS values):
 * Debian's content has no CIS profile, and SSG's defaults are its own (ClientAliveCountMax 0,
 * max_log_file_action rotate, disk actions single). The disk actions' checks match a pattern, so
 * an alternation accepts what the library's one_of does.
 */
export const setValues = {
  var_sshd_set_keepalive: "3",
  var_auditd_max_log_file_action: "keep_logs",
  var_auditd_disk_full_action: "halt|single",
  var_auditd_disk_error_action: "syslog|single|halt",
};

/** A tailoring file whose profile selects exactly `rules` (every rule of SSG is unselected by default). */
export function writeTailoring(path, rules) {
  const selects = [
    ...rules.map((r) => `    <xccdf-1.2:select idref="${rulePrefix}${r}" selected="true"/>`),
    ...Object.entries(setValues).map(([k, v]) => `    <xccdf-1.2:set-value idref="xccdf_org.ssgproject.content_value_${k}">${v}</xccdf-1.2:set-value>`),
  ].join("\n");
  writeFileSync(
    path,
    `<?xml version="1.0" encoding="UTF-8"?>
<xccdf-1.2:Tailoring xmlns:xccdf-1.2="http://checklists.nist.gov/xccdf/1.2" id="xccdf_covenant.bench_tailoring_sox">
  <xccdf-1.2:version time="2026-12-06T00:00:00">1</xccdf-1.2:version>
  <xccdf-1.2:Profile id="${profileId}">
    <xccdf-1.2:title>The SSG rules the SOX ITGC library refs that ssg-debian11 has</xccdf-1.2:title>
${selects}
  </xccdf-1.2:Profile>
</xccdf-1.2:Tailoring>
`,
  );
}

/**
 * A policy directory holding only the controls in `keep` (each file's header, its imports, and
 * the blocks of the controls kept; platform.promise whole).
 */
export function writeSubsetLibrary(dir, keep) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const file of readdirSync(library).filter((f) => f.endsWith(".promise"))) {
    const out = [];
    let inControl = false;
    let kept = false;
    for (const line of readFileSync(join(library, file), "utf8").split("\n")) {
      const start = /^control "([^"]+)"/.exec(line);
      if (start) {
        inControl = true;
        kept = keep.has(start[1]);
      }
      if (!inControl || kept) out.push(line);
      if (line === "}") inControl = false;
    }
    writeFileSync(join(dir, file), out.join("\n"), { mode: 0o600 });
  }
}

/** The fixture hosts to compare on: the compliant Debian 12 host and each fail/ variant that extends it. */
export function debianFixtures() {
  const base = join(fixtures, "debian-12.json");
  const list = [{ name: "debian-12", manifest: base }];
  const failDir = join(fixtures, "fail");
  for (const f of readdirSync(failDir).filter((x) => x.endsWith(".json")).sort()) {
    const manifest = join(failDir, f);
    const ext = JSON.parse(readFileSync(manifest, "utf8")).extends;
    if (ext && resolve(dirname(manifest), ext) === base) list.push({ name: `fail/${basename(f, ".json")}`, manifest });
  }
  return list;
}

const debian11OsRelease = `PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"
NAME="Debian GNU/Linux"
VERSION_ID="11"
VERSION="11 (bullseye)"
VERSION_CODENAME=bullseye
ID=debian
`;

/**
 * oscap's probe root for a sandbox: a copy of its root/ (cp -a: modes and owners kept), with
 * - etc/debian_version 11.7 and a Debian 11 etc/os-release: ssg-debian11's platform check
 *   (oval:ssg-installed_OS_is_debian11) reads ^11.[0-9]+$ in /etc/debian_version;
 * - etc/passwd, shadow and group holding the sandbox's accounts (its etc/, which Covenant's
 *   `account` promises read), written into root/'s files so that their modes and owners stay;
 * - this machine's usr/share/dpkg/cputable and tupletable: libapt, which oscap's dpkginfo probe
 *   uses, reads them under the probe root to know the architecture, and fails without them;
 * - the sandbox's proc/ (the fixture's kernel state) as proc/, with proc/mounts written from its
 *   self/mountinfo (oscap's partition probe reads /proc/mounts under the probe root), and an
 *   empty directory for each mount point the root lacks (/tmp, /dev/shm).
 */
export function makeProbeRoot(sandbox, probeRoot) {
  rmSync(probeRoot, { recursive: true, force: true });
  const cp = spawnSync("cp", ["-a", "--", join(sandbox, "root"), probeRoot], { encoding: "utf8" });
  if (cp.status !== 0) throw new Error(`cp -a ${sandbox}/root: ${cp.stderr}`);
  writeFileSync(join(probeRoot, "etc/debian_version"), "11.7\n");
  writeFileSync(join(probeRoot, "etc/os-release"), debian11OsRelease);
  for (const f of ["passwd", "shadow", "group"]) {
    writeFileSync(join(probeRoot, "etc", f), readFileSync(join(sandbox, "etc", f)), { mode: f === "shadow" ? 0o640 : 0o644 });
  }
  if (existsSync(join(sandbox, "proc"))) {
    const cpProc = spawnSync("cp", ["-a", "--", join(sandbox, "proc"), join(probeRoot, "proc")], { encoding: "utf8" });
    if (cpProc.status !== 0) throw new Error(`cp -a ${sandbox}/proc: ${cpProc.stderr}`);
    const mounts = mountsOf(readFileSync(join(sandbox, "proc/self/mountinfo"), "utf8"));
    writeFileSync(join(probeRoot, "proc/mounts"), mounts);
    // the partition probe also statvfs()es each mount point under the probe root
    for (const line of mounts.split("\n").filter(Boolean)) mkdirSync(join(probeRoot, line.split(" ")[1]), { recursive: true });
  }
  mkdirSync(join(probeRoot, "usr/share/dpkg"), { recursive: true });
  for (const f of ["cputable", "tupletable"]) copyFileSync(join("/usr/share/dpkg", f), join(probeRoot, "usr/share/dpkg", f));
}

/** /proc/mounts's lines (source target fstype options 0 0) from mountinfo's. */
function mountsOf(mountinfo) {
  return mountinfo
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [left, right] = l.split(" - ");
      const f = left.split(" ");
      const [fstype, source] = right.split(" ");
      return `${source} ${f[4]} ${fstype} ${f[5]} 0 0\n`;
    })
    .join("");
}

/** The argv that evaluates the tailoring profile on `probeRoot` offline (env sets the root). */
export function oscapArgv(probeRoot, tailoring, results) {
  return ["env", `OSCAP_PROBE_ROOT=${probeRoot}`, "oscap", "xccdf", "eval", "--profile", profileId, "--tailoring-file", tailoring, "--results", results, datastream];
}

/** rule id → oscap's result (pass, fail, notapplicable, notchecked, notselected, unknown, error). */
export function readResults(path) {
  const xml = readFileSync(path, "utf8");
  const out = new Map();
  const re = new RegExp(`<(?:[\\w.-]+:)?rule-result\\b[^>]*\\bidref="${rulePrefix}([a-z0-9_-]+)"[^>]*>[\\s\\S]*?<(?:[\\w.-]+:)?result>(\\w+)<`, "g");
  for (const m of xml.matchAll(re)) out.set(m[1], m[2]);
  return out;
}

