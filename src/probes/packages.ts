// The installed packages of a host, whichever database it keeps: dpkg's, read directly
// (dpkg.ts), where var/lib/dpkg/status exists under the root; otherwise rpm's, through `rpm -qa`
// (rpm.ts), or in a sandbox its recorded answer of `rpm -qa`. Versions are compared with the
// ordering of the database they came from: a Debian `1.0~rc1` and an RPM `1.0~rc1` sort the
// same, but `1.0a` and `1.0.1` do not.
import { existsSync, lstatSync } from "node:fs";
import { join } from "node:path";
import * as dpkg from "./dpkg.js";
import { compareDebianVersions, parseDebianVersion } from "./dpkg-version.js";
import * as rpm from "./rpm.js";
import { compareRpmVersions, parseRpmVersion } from "./rpm-version.js";
import { fail, ok, type ProbeResult } from "./result.js";

export type PackageManager = "dpkg" | "rpm";

/** Where rpm keeps its database: /var/lib/rpm, or /usr/lib/sysimage/rpm since rpm 4.16 (RHEL 9 links the one to the other). */
const RPM_DATABASES = ["var/lib/rpm", "usr/lib/sysimage/rpm"];

export interface InstalledPackage {
  name: string;
  architecture: string;
  /** `epoch:upstream-revision` (dpkg) or `epoch:version-release` (rpm), the epoch only when there is one */
  version: string;
  /** dpkg's status word (`installed`, `config-files`, `half-installed`, ...); `installed` for rpm */
  status: string;
  /** the package's files are in place and configured */
  installed: boolean;
  /** held at its version (`apt-mark hold`: dpkg's wanted state `hold`): upgrades pass it by */
  held?: true;
}

export interface PackageDatabase {
  manager: PackageManager;
  /** what was read: the status file, or `rpm -qa` */
  source: string;
  /** sorted by name, then architecture */
  packages: InstalledPackage[];
}

export interface PackagesOptions {
  /** the rpm program (tests put a stand-in first on PATH) */
  rpm?: string;
  /** recorded answers of programs (ProbeRoots.answers, a sandbox's): rpm's list is read from there */
  answers?: string;
}

/** Which database the host under `root` keeps: dpkg's where its status file exists, rpm's otherwise. */
export function managerOf(root: string): PackageManager {
  return lstatSync(join(root, "var", "lib", "dpkg", "status"), { throwIfNoEntry: false }) ? "dpkg" : "rpm";
}

export function read(root = "/", opts: PackagesOptions = {}): ProbeResult<PackageDatabase> {
  if (managerOf(root) === "dpkg") {
    const r = dpkg.read(root);
    if (!r.ok) return r;
    const packages = r.value.packages.map((p): InstalledPackage => ({ name: p.name, architecture: p.architecture, version: p.version, status: p.status, installed: p.installed, ...(p.want === "hold" ? { held: true as const } : {}) }));
    return ok({ manager: "dpkg", source: r.value.path, packages }, r.skipped);
  }
  // rpm is asked only where its database is: under a root without one, `rpm --root` might answer with an empty list
  const rpmDirs = RPM_DATABASES.map((d) => join(root, d));
  if (!rpmDirs.some((d) => existsSync(d))) return fail("unavailable", `no package database under ${root}: neither ${join(root, "var/lib/dpkg/status")} nor an rpm database (${rpmDirs.join(", ")}) exists`);
  const r = rpm.read(root, { ...(opts.rpm !== undefined ? { rpm: opts.rpm } : {}), ...(opts.answers !== undefined ? { answers: opts.answers } : {}) });
  if (!r.ok) return r;
  const packages = r.value.packages.map((p) => ({ name: p.name, architecture: p.architecture, version: rpm.evr(p), status: "installed", installed: true }));
  const source = opts.answers !== undefined ? `the recorded answer of rpm -qa (${join(opts.answers, "rpm-qa")})` : root === "/" ? "rpm -qa" : `rpm --root ${root} -qa`;
  return ok({ manager: "rpm", source, packages }, r.skipped);
}

/** Why `version` is not a version of this manager's, or undefined when it is one. */
export function versionProblem(manager: PackageManager, version: string): string | undefined {
  const r = manager === "dpkg" ? parseDebianVersion(version) : parseRpmVersion(version);
  return r.ok ? undefined : r.error;
}

/** -1, 0 or 1 as `a` sorts before, with or after `b` in this manager's ordering; undefined when either is not a version. */
export function compareVersions(manager: PackageManager, a: string, b: string): -1 | 0 | 1 | undefined {
  if (manager === "dpkg") {
    const x = parseDebianVersion(a);
    const y = parseDebianVersion(b);
    return x.ok && y.ok ? compareDebianVersions(x.version, y.version) : undefined;
  }
  const x = parseRpmVersion(a);
  const y = parseRpmVersion(b);
  return x.ok && y.ok ? compareRpmVersions(x.version, y.version) : undefined;
}
