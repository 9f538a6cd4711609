// The behaviour of `package`: is a package installed (or absent), at a version that satisfies
// the promise, read from the host's package database (probes/packages.ts); repaired through the
// package manager by the change gate (package-changes.ts).
import { lstatSync } from "node:fs";
import type { CheckedPromise } from "../../checker/policy.js";
import * as packages from "../../probes/packages.js";
import type { Change } from "../change-gate.js";
import { attr, repairs, type Difference, type EvalContext, type Observation, type PromiseBehaviour } from "../contract.js";
import { parseConstraint, satisfies, type Constraint } from "../package-constraint.js";
import type { Snapshot } from "../snapshot.js";

interface ObservedPackages {
  manager: packages.PackageManager;
  source: string;
  /** the records whose name (and architecture, when promised) match, whatever their status */
  matches: packages.InstalledPackage[];
}

/** A promiser with `*` or `?` is a pattern over names; otherwise the name itself. */
function nameMatcher(promiser: string): (name: string) => boolean {
  if (!/[*?]/.test(promiser)) return (name) => name === promiser;
  const re = new RegExp(`^${promiser.replace(/[.+^$()|[\]{}\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return (name) => re.test(name);
}

function constraintsOf(p: CheckedPromise): Constraint[] {
  const v = attr<string[] | string>(p, "version");
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(parseConstraint);
}

// One read of the database per run and root, dropped when this type plans a change there (the
// confirming observation then reads it afresh) or, for dpkg, when its files change.
const databases = new WeakMap<Snapshot, Map<string, { stamp: string; result: ReturnType<typeof packages.read> }>>();

/** What changes when dpkg changes its database: the status file, replaced whole, and the journal directory, written to first. */
function stampOf(root: string): string {
  const dir = `${root.replace(/\/$/, "")}/var/lib/dpkg`;
  const st = lstatSync(`${dir}/status`, { throwIfNoEntry: false, bigint: true });
  if (!st) return "rpm";
  const journal = lstatSync(`${dir}/updates`, { throwIfNoEntry: false, bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${journal?.mtimeNs ?? "-"}`;
}

function database(ctx: EvalContext): ReturnType<typeof packages.read> {
  const root = ctx.hostPath("/");
  let byRoot = databases.get(ctx.snapshot);
  if (!byRoot) databases.set(ctx.snapshot, (byRoot = new Map()));
  const stamp = stampOf(root);
  const memo = byRoot.get(root);
  if (memo && memo.stamp === stamp) return memo.result;
  const result = packages.read(root, ctx.roots.answers !== undefined ? { answers: ctx.roots.answers } : {});
  byRoot.set(root, { stamp, result });
  return result;
}

/** Installed for `absent`: any of its files may be in place (dpkg: anything but not-installed and config-files). */
function present(p: packages.InstalledPackage): boolean {
  return p.status !== "not-installed" && p.status !== "config-files";
}

function label(p: packages.InstalledPackage, several: boolean): string {
  return several ? `${p.name}:${p.architecture}` : p.name;
}

/**
 * Whether installing the candidate could satisfy the constraints: the package is not installed,
 * or an installed version fails only lower bounds (`>=`, `>`). Failing `<`, `<=` or `!=` would
 * take a downgrade or another version, which a repair never chooses: nothing is planned.
 */
function upgradeCouldHelp(o: ObservedPackages, constraints: Constraint[]): boolean {
  const installed = o.matches.filter((x) => x.installed);
  if (installed.length === 0) return true;
  return installed.some((x) => constraints.every((c) => satisfies(o.manager, x.version, c) === true || c.op === ">=" || c.op === ">"));
}

/** `name[:arch][=version]` for apt-get, `name[-version][.arch]` for dnf. */
function installSpec(manager: "apt-get" | "dnf", name: string, arch: string | undefined, version: string | undefined): string {
  if (manager === "apt-get") return `${name}${arch ? `:${arch}` : ""}${version ? `=${version}` : ""}`;
  return `${name}${version ? `-${version}` : ""}${arch ? `.${arch}` : ""}`;
}

export const packageBehaviour: PromiseBehaviour<ObservedPackages> = {
  observe(p, ctx): Observation<ObservedPackages> {
    const db = database(ctx);
    if (!db.ok) return { ok: false, error: db.error.message };
    const { manager, source } = db.value;
    // a constraint must be a version of this database's kind, or nothing can be compared with it
    for (const c of constraintsOf(p)) {
      const problem = packages.versionProblem(manager, c.version);
      if (problem) return { ok: false, error: `version \`${c.text}\` cannot be compared with ${manager} versions: ${problem}` };
    }
    const matches = nameMatcher(p.promiser as string);
    const arch = attr<string>(p, "architecture");
    const found = db.value.packages.filter((x) => matches(x.name) && (arch === undefined || x.architecture === arch));
    const notes = db.skipped.length > 0 ? [`${db.skipped.length} record${db.skipped.length === 1 ? "" : "s"} of ${source} could not be read (first: line ${db.skipped[0]!.line ?? "?"}: ${db.skipped[0]!.reason})`] : undefined;
    return { ok: true, value: { manager, source, matches: found }, ...(notes ? { notes } : {}) };
  },

  judge(p, o) {
    const name = p.promiser as string;
    const arch = attr<string>(p, "architecture");
    const what = `${name}${arch ? ` (${arch})` : ""}`;
    const constraints = constraintsOf(p);
    const fits = (x: packages.InstalledPackage) => constraints.every((c) => satisfies(o.manager, x.version, c) === true);
    const wanted = constraints.map((c) => c.text).join(" and ");
    if ((attr<string>(p, "state") ?? "installed") === "absent") {
      const offenders = o.matches.filter((x) => present(x) && fits(x));
      // the architecture is named where the name alone would leave the manager to pick one
      const several = arch !== undefined || new Set(offenders.map((x) => x.name)).size < offenders.length;
      return offenders.map((x) => {
        const state = x.installed ? "installed" : `${x.status} (${o.manager} status)`;
        const version = constraints.length > 0 ? `, which satisfies ${wanted}` : "";
        return { subject: label(x, several), attribute: "state", expected: constraints.length > 0 ? `no version ${wanted}` : "absent", observed: `${state} ${x.version}`, reason: `${label(x, several)} ${x.version} is ${state}${version}, promised absent` };
      });
    }
    const installed = o.matches.filter((x) => x.installed);
    if (installed.length === 0) {
      const partial = o.matches.find(present);
      const observed = partial ? partial.status : o.matches.some((x) => x.status === "config-files") ? "config-files" : "not installed";
      const is = partial ? `is ${partial.status} (${o.manager} status), not installed` : observed === "config-files" ? "is removed (only its configuration files remain)" : /[*?]/.test(name) ? "matches no installed package" : "is not installed";
      return [{ attribute: "state", expected: "installed", observed, reason: `${what} ${is}, promised installed` }];
    }
    // a name: every installed architecture must satisfy the version (an old i386 copy is as vulnerable);
    // a pattern: at least one matching package
    const pattern = /[*?]/.test(name);
    if (constraints.length === 0 || (pattern ? installed.some(fits) : installed.every(fits))) return [];
    // one difference per installed record that fails (a multi-arch package has one per architecture), naming the constraints it fails
    return installed.filter((x) => pattern || !fits(x)).map((x): Difference => {
      const failing = constraints.filter((c) => satisfies(o.manager, x.version, c) !== true).map((c) => c.text).join(" and ");
      const archs = installed.filter((y) => y.name === x.name).length;
      const who = archs > 1 ? label(x, true) : /[*?]/.test(name) ? x.name : what;
      return { subject: label(x, true), attribute: "version", expected: wanted, observed: x.version, reason: `${who} ${x.version} does not satisfy ${failing}${x.held ? " (held at its version: `apt-mark hold`)" : ""}` };
    });
  },

  repair(p, o, differences, ctx): Change[] {
    const verb = repairs(p)[0];
    const absent = (attr<string>(p, "state") ?? "installed") === "absent";
    const manager = o.manager === "dpkg" ? "apt-get" : "dnf";
    const changes: Change[] = [];
    if (!absent && verb === "install") {
      const name = p.promiser as string;
      if (/[*?]/.test(name)) return []; // a pattern names no one package to install
      const constraints = constraintsOf(p);
      const exact = constraints.find((c) => c.op === "=");
      if (!exact && !upgradeCouldHelp(o, constraints)) return [];
      // the promised architecture, or each installed one that fails the version where there are several; else the manager's choice
      const several = o.matches.filter((x) => x.installed).length > 1;
      const failing = differences.filter((d) => d.attribute === "version" && d.subject !== undefined).map((d) => d.subject!.slice(name.length + 1));
      const archs: (string | undefined)[] = attr<string>(p, "architecture") !== undefined ? [attr<string>(p, "architecture")] : several && failing.length > 0 ? failing : [undefined];
      changes.push({ op: "package", manager, action: "install", packages: archs.map((a) => installSpec(manager, name, a, exact?.version)) });
    } else if (absent && (verb === "remove" || verb === "purge")) {
      const specs = differences.map((d) => d.subject!).filter((s) => s !== undefined);
      const dotted = manager === "dnf" ? specs.map((s) => s.replace(/:([^:]+)$/, ".$1")) : specs;
      if (dotted.length > 0) changes.push({ op: "package", manager, action: manager === "dnf" ? "remove" : verb, packages: dotted });
    }
    // the confirming observation reads the database afresh
    if (changes.length > 0) databases.get(ctx.snapshot)?.delete(ctx.hostPath("/"));
    return changes;
  },
};
