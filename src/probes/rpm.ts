// Installed RPM packages, through `rpm -qa` (argv, never a shell) with a query format of our
// own: the rpm database (Berkeley DB, NDB or SQLite, by release) is read only by rpm itself.
// Where `rpm` is not installed the database cannot be read, and the probe says so.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fail, ok, readAnswer, type ProbeResult, type Skip } from "./result.js";

export interface RpmPackage {
  name: string;
  /** undefined when the package has none (rpm prints `(none)`) */
  epoch?: number;
  version: string;
  release: string;
  architecture: string;
}

/** Tab-separated: name, epoch, version, release, architecture. */
export const QUERY_FORMAT = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n";

/** `epoch:version-release`, the epoch left out when there is none, as `rpm -q` prints it. */
export function evr(p: Pick<RpmPackage, "epoch" | "version" | "release">): string {
  return `${p.epoch !== undefined ? `${p.epoch}:` : ""}${p.version}-${p.release}`;
}

export function parse(text: string, source = "rpm -qa"): { packages: RpmPackage[]; skipped: Skip[] } {
  const packages: RpmPackage[] = [];
  const skipped: Skip[] = [];
  text.split("\n").forEach((line, i) => {
    if (line === "") return;
    const f = line.split("\t");
    if (f.length !== 5 || f.some((x) => x === "")) {
      skipped.push({ path: source, line: i + 1, reason: `expected 5 tab-separated fields (name, epoch, version, release, arch), got ${f.length}` });
      return;
    }
    const [name, epoch, version, release, arch] = f as [string, string, string, string, string];
    // imported signing keys are listed as packages without an architecture
    if (name === "gpg-pubkey" && arch === "(none)") {
      skipped.push({ path: source, line: i + 1, reason: "an imported signing key (gpg-pubkey), not a package" });
      return;
    }
    // a name is an argument of its own to dnf, after `--`; still, only what a package name may be
    if (!/^[A-Za-z0-9_+][A-Za-z0-9_+.-]*$/.test(name)) {
      skipped.push({ path: source, line: i + 1, reason: `\`${name.slice(0, 40)}\` is not a package name` });
      return;
    }
    if (epoch !== "(none)" && !/^\d+$/.test(epoch)) {
      skipped.push({ path: source, line: i + 1, reason: `the epoch of \`${name}\` is not a number: \`${epoch.slice(0, 40)}\`` });
      return;
    }
    const p: RpmPackage = { name, version, release, architecture: arch };
    if (epoch !== "(none)") p.epoch = Number(epoch);
    packages.push(p);
  });
  packages.sort((a, b) => (a.name === b.name ? (a.architecture < b.architecture ? -1 : a.architecture > b.architecture ? 1 : 0) : a.name < b.name ? -1 : 1));
  return { packages, skipped };
}

export interface RpmOptions {
  /** the program; `rpm` from PATH by default (tests put a stand-in first on PATH) */
  rpm?: string;
  timeoutMs?: number;
  /** a directory of recorded answers (ProbeRoots.answers): its `rpm-qa` is read instead of running rpm */
  answers?: string;
}

/** The installed packages under `root` (`rpm --root` when it is not `/`). */
export function read(root = "/", opts: RpmOptions = {}): ProbeResult<{ packages: RpmPackage[] }> {
  if (opts.answers !== undefined) {
    const path = join(opts.answers, "rpm-qa");
    const recorded = readAnswer(path);
    if (!recorded.ok) return recorded.result;
    const parsed = parse(recorded.text, path);
    return ok({ packages: parsed.packages }, parsed.skipped);
  }
  // rpm itself turns the format's `\t` and `\n` into a tab and a newline
  const argv = [...(root === "/" ? [] : ["--root", root]), "-qa", "--qf", QUERY_FORMAT];
  const timeout = opts.timeoutMs ?? 60_000;
  let text: string;
  try {
    text = execFileSync(opts.rpm ?? "rpm", argv, { encoding: "utf8", timeout, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; signal?: string };
    if (e.code === "ENOENT") return fail("unavailable", "rpm is not installed: the rpm database cannot be read");
    if (e.signal === "SIGTERM") return fail("io", `rpm -qa did not answer within ${timeout / 1000}s`);
    return fail("io", `rpm -qa failed: ${(e.stderr ?? e.message).trim().split("\n")[0]}`);
  }
  const parsed = parse(text);
  return ok({ packages: parsed.packages }, parsed.skipped);
}
