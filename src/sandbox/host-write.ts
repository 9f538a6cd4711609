// Writes the host state of a sandbox.json (host.ts checks it) into a new sandbox:
// etc/os-release, the package database (dpkg's status file, or rpm's recorded answer), the
// recorded answers of systemctl, and a /proc tree of its own.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { formatStanza } from "../probes/dpkg.js";
import { rpmQaLine, type SandboxManifestHost, type SandboxPackage } from "./host.js";

export const DEFAULT_CMDLINE = "BOOT_IMAGE=/boot/vmlinuz root=/dev/sda1 ro quiet";

/** What a sandbox holds besides root/, etc/ and state/: named in its marker, checked on reuse. */
export interface HostParts {
  proc: boolean;
  answers: boolean;
  /** facts.json: the manifest's `facts` */
  facts?: boolean;
}

/** dpkg's wanted state and error flag for each status a manifest may give. */
const DPKG_STATUS: Record<SandboxPackage["status"], [string, string]> = {
  installed: ["install", "ok"],
  "config-files": ["deinstall", "ok"],
  "half-installed": ["install", "reinstreq"],
  unpacked: ["install", "ok"],
};

/** A new file only: never through a link, never over an entry made before it. */
const writeNew = (path: string, text: string) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { flag: "wx" });
};

export function writeHostState(dir: string, filesRoot: string, etcRoot: string, m: SandboxManifestHost): HostParts {
  const answers = join(dir, "answers");
  const parts: HostParts = { proc: m.proc !== undefined, answers: false };
  if (m.os_release !== undefined) {
    // os-release(5): double quotes, with `"`, `\`, `$` and backquote escaped
    const lines = Object.entries(m.os_release).map(([k, v]) => `${k}="${v.replace(/[\\"$`]/g, "\\$&")}"\n`);
    writeNew(join(etcRoot, "os-release"), lines.join(""));
  }
  if (m.packages !== undefined || m.package_database !== undefined) {
    const packages = Object.entries(m.packages ?? {});
    if ((m.package_database ?? "dpkg") === "dpkg") {
      const stanzas = packages.map(([name, p]) => {
        const [want, eflag] = DPKG_STATUS[p.status];
        return formatStanza({ name, architecture: p.architecture ?? "amd64", version: p.version, want, eflag, status: p.status });
      });
      writeNew(join(filesRoot, "var/lib/dpkg/status"), stanzas.join("\n"));
      mkdirSync(join(filesRoot, "var/lib/dpkg/updates"), { recursive: true });
    } else {
      // no rpm program here, and no way to build its database: what `rpm -qa` would print
      mkdirSync(join(filesRoot, "var/lib/rpm"), { recursive: true });
      writeNew(join(answers, "rpm-qa"), packages.map(([name, p]) => rpmQaLine(name, p)).join(""));
      parts.answers = true;
    }
  }
  if (m.services !== undefined) {
    const units = Object.fromEntries(Object.entries(m.services).map(([unit, u]) => [unit, { LoadState: "loaded", ActiveState: u.active, SubState: u.sub, UnitFileState: u.enabled, MainPID: "0" }]));
    writeNew(join(answers, "units.json"), JSON.stringify({ units }, null, 2) + "\n");
    parts.answers = true;
  }
  if (m.proc !== undefined) writeProc(join(dir, "proc"), m.proc);
  return parts;
}

/** Paths in mountinfo escape space, tab, newline and backslash as octal. */
const escapeMountPath = (p: string) => p.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);

function writeProc(proc: string, p: NonNullable<SandboxManifestHost["proc"]>): void {
  mkdirSync(join(proc, "self"), { recursive: true });
  mkdirSync(join(proc, "sys"), { recursive: true });
  for (const [key, value] of Object.entries(p.sysctl)) writeNew(join(proc, "sys", ...key.split(".")), `${value}\n`);
  writeNew(join(proc, "modules"), p.modules.map((name) => `${name} 16384 0 - Live 0x0000000000000000\n`).join(""));
  // id parent major:minor root mount-point options - fstype source super-options
  // ids from 21, each mount's parent the root mount's (the first line's parent when there is none)
  const rootIndex = p.mounts.findIndex((m) => m.target === "/");
  const lines = p.mounts.map((m, i) => {
    const superOptions = m.options.split(",").includes("ro") ? "ro" : "rw";
    const parent = m.target === "/" || rootIndex < 0 ? 1 : 21 + rootIndex;
    return `${21 + i} ${parent} 0:${40 + i} / ${escapeMountPath(m.target)} ${m.options} - ${m.fstype} ${m.source} ${superOptions}\n`;
  });
  writeNew(join(proc, "self", "mountinfo"), lines.join(""));
  writeNew(join(proc, "cmdline"), `${p.cmdline ?? DEFAULT_CMDLINE}\n`);
}
