// Changes to a host's packages, made by its package manager (apt-get on dpkg hosts, dnf on rpm
// ones) through the change gate: argv only, never a shell, with a small environment of our own
// (nothing of Covenant's, such as a notifier's secret, reaches maintainer scripts), and never
// interrupted once started: killing dpkg half-way leaves packages half-installed.
import { findOnPath, programRefusal } from "../trust/programs.js";
import { childProcess } from "../native/builtins-on-use.js";
import { runningAsRoot } from "../trust/strict-modes.js";
import { ChangeRefused } from "./file-changes.js";

export interface PackageChange {
  op: "package";
  manager: "apt-get" | "dnf";
  action: "install" | "remove" | "purge";
  /** as the manager takes them: `auditd`, `libc6:i386`, `auditd=1:3.0.9-1` (apt), `audit-3.0.7-4.el9`, `glibc.i686` (dnf) */
  packages: string[];
}

/** The argv that makes the change. The package specs come after `--`: none is read as an option. */
export function packageArgv(c: PackageChange): string[] {
  if (c.manager === "apt-get") {
    // keep local changes to configuration files without asking (a prompt would wait forever)
    const conffiles = ["-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"];
    if (c.action === "install") return ["apt-get", "install", "-y", "--no-install-recommends", ...conffiles, "--", ...c.packages];
    return ["apt-get", c.action, "-y", ...conffiles, "--", ...c.packages];
  }
  if (c.action === "install") return ["dnf", "install", "-y", "--setopt=install_weak_deps=False", "--", ...c.packages];
  return ["dnf", "remove", "-y", "--", ...c.packages];
}

export function describePackageChange(c: PackageChange): string {
  return packageArgv(c).join(" ");
}

/**
 * The environment the package manager runs in: the system's PATH (dpkg and maintainer scripts
 * find their programs there, never in a directory of the caller's PATH that another user could
 * write), no questions, messages in English.
 */
export function packageEnvironment(): NodeJS.ProcessEnv {
  return { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" };
}

/** The longest a package manager may run before it is stopped: long enough for any upgrade. */
const CAP_MS = 60 * 60 * 1000;

interface Ran {
  status: number | string;
  stdout: string;
  stderr: string;
}

function runOnce(program: string, args: string[]): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    childProcess().execFile(program, args, { env: packageEnvironment(), timeout: CAP_MS, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { signal?: string | null }) | null;
      if (e?.code === "ENOENT") return reject(new ChangeRefused(`${program} is not installed`, "failed"));
      // an exit status, or the signal that ended it (the cap), or Node's own reason (output too large)
      const status = e ? (e.code ?? (e.signal ? `killed by ${e.signal}` : "?")) : 0;
      resolvePromise({ status, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The line that says why: apt's `E:` lines, dnf's `Error:`, else the last line of stderr. */
function why(r: Ran): string {
  const lines = r.stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const errors = lines.filter((l) => /^(E:|Error:)/.test(l));
  return (errors.length > 0 ? errors.join(" ") : lines.at(-1) ?? "").slice(0, 500);
}

/**
 * Packages apt would remove besides those named, from a simulation (`apt-get -s`): removing a
 * package also removes everything that depends on it, which the policy did not ask for.
 */
export function alsoRemoved(simulation: string, named: string[]): string[] {
  const base = (s: string) => s.split(":")[0]!;
  const wanted = new Set(named.map(base));
  const extra: string[] = [];
  for (const line of simulation.split("\n")) {
    const m = /^(?:Remv|Purg) (\S+)/.exec(line);
    if (m && !wanted.has(base(m[1]!))) extra.push(m[1]!);
  }
  return extra;
}

/** Makes the change; throws with the manager's own reason when it cannot. */
export async function applyPackageChange(c: PackageChange): Promise<void> {
  const program = findOnPath(c.manager, process.env["PATH"] ?? "");
  if (program === undefined) throw new ChangeRefused(`${c.manager} is not installed (not found on PATH)`, "failed");
  // as root, a package manager another user can change would run their code as root
  const refused = runningAsRoot() ? programRefusal(program) : undefined;
  if (refused) throw new ChangeRefused(`${program} was not run: ${refused}`, "failed");
  const argv = packageArgv(c);
  if (c.manager === "apt-get" && c.action !== "install") {
    const sim = await runOnce(program, [c.action, "-s", "-y", "--", ...c.packages]);
    if (sim.status !== 0) throw new Error(`apt-get ${c.action} -s exited with status ${sim.status}${why(sim) ? `: ${why(sim)}` : ""}`);
    const extra = alsoRemoved(sim.stdout, c.packages);
    if (extra.length > 0) throw new ChangeRefused(`not removed: apt-get would also remove ${extra.join(", ")}, which the policy does not name (remove them first, or name them too)`, "failed");
  }
  const r = await runOnce(program, argv.slice(1));
  if (r.status !== 0) throw new Error(`${argv.slice(0, 2).join(" ")} exited with status ${r.status}${why(r) ? `: ${why(r)}` : ""}`);
}
