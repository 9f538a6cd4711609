// The host state a sandbox.json may describe besides files and accounts: the OS (`os_release`),
// installed packages, systemd units and the kernel's state under /proc (`proc`). Each is checked
// here (problems added to a list, all reported at once) and written by host-write.ts.
// Every key of an object-valued section may be JSON `null` in a manifest that `extends` another:
// it deletes the base's key.
import { versionProblem } from "../probes/packages.js";
import { isModuleName } from "../probes/modules.js";

export const PACKAGE_STATUSES = ["installed", "config-files", "half-installed", "unpacked"] as const;
export interface SandboxPackage {
  version: string;
  architecture?: string;
  status: (typeof PACKAGE_STATUSES)[number];
}

export interface SandboxUnit {
  active: string;
  sub: string;
  enabled: string;
}

export interface SandboxMount {
  target: string;
  fstype: string;
  source: string;
  options: string;
}

export interface SandboxProc {
  sysctl: Record<string, string>;
  modules: string[];
  mounts: SandboxMount[];
  cmdline?: string;
}

/** A layer's `proc`: each key given replaces (or, for sysctl, merges into) the base's. */
export interface ProcLayer {
  sysctl?: Record<string, string | null>;
  modules?: string[];
  mounts?: SandboxMount[];
  cmdline?: string;
}

export type PackageDatabaseKind = "dpkg" | "rpm";

/** The host state of a manifest, merged over its bases. */
export interface SandboxManifestHost {
  os_release?: Record<string, string>;
  packages?: Record<string, SandboxPackage>;
  package_database?: PackageDatabaseKind;
  /** unit name (with its suffix) → state */
  services?: Record<string, SandboxUnit>;
  proc?: SandboxProc;
}

const OS_RELEASE_KEY = /^[A-Z0-9_]+$/;
const LINE_BREAK = /[\n\r\0]/;
const PACKAGE_NAME: Record<PackageDatabaseKind, RegExp> = { dpkg: /^[a-z0-9][a-z0-9+.-]+$/, rpm: /^[A-Za-z0-9_+][A-Za-z0-9_+.-]*$/ };
const ARCHITECTURE = /^[A-Za-z0-9_]+$/;
const UNIT = /^[A-Za-z0-9:_.@\\-]+$/;
const ACTIVE_STATES = ["active", "inactive", "failed", "activating", "deactivating", "reloading", "maintenance"];
const ENABLED_STATES = ["enabled", "enabled-runtime", "disabled", "masked", "masked-runtime", "static", "indirect", "generated", "linked", "linked-runtime", "alias", "transient"];
const SYSCTL_KEY = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
const MOUNT_OPTIONS = /^[A-Za-z0-9_=,.:/-]+$/;
const FSTYPE = /^[a-z0-9_.-]+$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The keys of the base's section: "none" without a base, "unknown" when the base could not be read. */
export type BaseKeys = Record<string, unknown> | "none" | "unknown";

/**
 * An object-valued key, checked entry by entry: `null` deletes the base's key (an error where the
 * base has none, or there is no base: a typo must not pass silently), else `value` checks it.
 */
export function checkedMap<T>(raw: unknown, at: string, problems: string[], base: BaseKeys, value: (v: unknown, at: string, key: string) => T | undefined): Record<string, T | null> | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    problems.push(`\`${at}\` must be an object`);
    return undefined;
  }
  // no prototype: a key named `__proto__` (a group, a package) is an entry like any other
  const out = Object.create(null) as Record<string, T | null>;
  for (const [k, v] of Object.entries(raw)) {
    if (v === null) {
      if (base === "none") problems.push(`${at}.${k} is null, which deletes a key of the base manifest, but this manifest extends none`);
      else if (base !== "unknown" && !Object.hasOwn(base, k)) problems.push(`${at}.${k} is null, which deletes a key of the base manifest, but the base has no \`${k}\``);
      else out[k] = null;
      continue;
    }
    const checked = value(v, `${at}.${k}`, k);
    if (checked !== undefined) out[k] = checked;
  }
  return out;
}

function unknownKeys(o: Record<string, unknown>, known: string[], at: string, problems: string[]): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) problems.push(`${at}.${k} is not a field (${known.join(", ")})`);
}

export function checkOsRelease(raw: unknown, problems: string[], base: BaseKeys): Record<string, string | null> | undefined {
  return checkedMap(raw, "os_release", problems, base, (v, at, key) => {
    if (!OS_RELEASE_KEY.test(key)) problems.push(`${at}: os-release keys are upper case letters, digits and \`_\` (such as \`VERSION_ID\`)`);
    else if (typeof v !== "string" || LINE_BREAK.test(v)) problems.push(`${at} must be a string without line breaks`);
    else return v;
    return undefined;
  });
}

/** `[epoch:]version-release` split as rpm -qa prints it, or undefined when there is no release. */
export function rpmFields(version: string): { epoch?: number; version: string; release: string } | undefined {
  const m = /^(?:(\d+):)?([^:\s-][^:\s]*)-([^:\s-]+)$/.exec(version);
  if (!m) return undefined;
  return { ...(m[1] !== undefined ? { epoch: Number(m[1]) } : {}), version: m[2]!, release: m[3]! };
}

export function checkPackages(raw: unknown, manager: PackageDatabaseKind, problems: string[], base: BaseKeys): Record<string, SandboxPackage | null> | undefined {
  return checkedMap(raw, "packages", problems, base, (v, at, name): SandboxPackage | undefined => {
    const before = problems.length;
    if (!PACKAGE_NAME[manager].test(name)) problems.push(`${at}: \`${name}\` is not a ${manager} package name`);
    const o = typeof v === "string" ? { version: v } : isObject(v) ? v : undefined;
    if (o === undefined) {
      problems.push(`${at} must be a version string or an object with \`version\`, \`architecture\`, \`status\``);
      return undefined;
    }
    unknownKeys(o, ["version", "architecture", "status"], at, problems);
    const version = o["version"];
    if (typeof version !== "string" || version === "") problems.push(`${at}.version must be a version string`);
    else {
      const why = manager === "rpm" && !rpmFields(version) ? "an rpm version is `[epoch:]version-release`, such as `3.0.7-27.el9`" : versionProblem(manager, version);
      if (why !== undefined) problems.push(`${at}.version \`${version}\` is not a ${manager} version: ${why}`);
    }
    if (o["architecture"] !== undefined && !(typeof o["architecture"] === "string" && ARCHITECTURE.test(o["architecture"]))) problems.push(`${at}.architecture must be a name such as "amd64" or "x86_64"`);
    const status = o["status"] ?? "installed";
    if (!(PACKAGE_STATUSES as readonly unknown[]).includes(status)) problems.push(`${at}.status must be one of ${PACKAGE_STATUSES.join(", ")}`);
    else if (manager === "rpm" && status !== "installed") problems.push(`${at}.status: rpm records only installed packages`);
    if (problems.length > before) return undefined;
    return { version: version as string, status: status as SandboxPackage["status"], ...(typeof o["architecture"] === "string" ? { architecture: o["architecture"] } : {}) };
  });
}

export function checkPackageDatabase(raw: unknown, problems: string[]): PackageDatabaseKind | undefined {
  if (raw === undefined) return undefined;
  if (raw === "dpkg" || raw === "rpm") return raw;
  problems.push('`package_database` must be "dpkg" or "rpm"');
  return undefined;
}

/** systemctl's name of a unit: `.service` added to a name without a suffix. */
export const unitOf = (name: string): string => (name.includes(".") ? name : `${name}.service`);

export function checkServices(raw: unknown, problems: string[], base: BaseKeys): Record<string, SandboxUnit | null> | undefined {
  // keys are unit names as systemctl knows them: `sshd` is `sshd.service`
  const named = isObject(raw) ? Object.fromEntries(Object.entries(raw).map(([k, v]) => [UNIT.test(k) && !k.startsWith("-") ? unitOf(k) : k, v])) : raw;
  return checkedMap(named, "services", problems, base, (v, at, unit): SandboxUnit | undefined => {
    const before = problems.length;
    if (!UNIT.test(unit) || unit.startsWith("-")) problems.push(`${at}: \`${unit}\` is not a unit name`);
    if (!isObject(v)) {
      problems.push(`${at} must be an object with \`active\`, \`sub\`, \`enabled\``);
      return undefined;
    }
    unknownKeys(v, ["active", "sub", "enabled"], at, problems);
    const active = v["active"] ?? "active";
    if (!ACTIVE_STATES.includes(active as string)) problems.push(`${at}.active must be one of ${ACTIVE_STATES.join(", ")}`);
    const sub = v["sub"] ?? (active === "active" ? "running" : active === "failed" ? "failed" : "dead");
    if (typeof sub !== "string" || !/^[a-z-]+$/.test(sub)) problems.push(`${at}.sub must be a sub-state such as "running", "exited" or "dead"`);
    const enabled = v["enabled"] ?? "enabled";
    if (!ENABLED_STATES.includes(enabled as string)) problems.push(`${at}.enabled must be one of ${ENABLED_STATES.join(", ")}`);
    return problems.length > before ? undefined : { active: active as string, sub: sub as string, enabled: enabled as string };
  });
}

export function checkProc(raw: unknown, problems: string[], sysctlBase: BaseKeys, sandboxPath: (v: unknown, at: string) => string | undefined): ProcLayer | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    problems.push("`proc` must be an object");
    return undefined;
  }
  unknownKeys(raw, ["sysctl", "modules", "mounts", "cmdline"], "proc", problems);
  const out: ProcLayer = {};
  const sysctl = checkedMap(raw["sysctl"], "proc.sysctl", problems, sysctlBase, (v, at, key) => {
    if (!SYSCTL_KEY.test(key)) problems.push(`${at}: \`${key}\` is not a sysctl key (lower case letters, digits, \`_\`, \`-\`, parts joined by \`.\`)`);
    else if (typeof v !== "string" || LINE_BREAK.test(v)) problems.push(`${at} must be a string without line breaks, such as "0"`);
    else return v;
    return undefined;
  });
  if (sysctl !== undefined) out.sysctl = sysctl;
  if (raw["modules"] !== undefined) {
    if (!Array.isArray(raw["modules"])) problems.push("`proc.modules` must be a list of module names");
    else {
      const bad = raw["modules"].flatMap((m, i) => (typeof m === "string" && isModuleName(m) ? [] : [`proc.modules[${i}] must be a module name (letters, digits, \`_\`, \`-\`), got ${JSON.stringify(m)}`]));
      problems.push(...bad);
      if (bad.length === 0) out.modules = raw["modules"] as string[];
    }
  }
  if (raw["mounts"] !== undefined) {
    if (!Array.isArray(raw["mounts"])) problems.push("`proc.mounts` must be a list of mounts");
    else out.mounts = raw["mounts"].map((m, i) => checkMount(m, `proc.mounts[${i}]`, problems, sandboxPath)).filter((m) => m !== undefined);
  }
  if (raw["cmdline"] !== undefined) {
    if (typeof raw["cmdline"] !== "string" || LINE_BREAK.test(raw["cmdline"])) problems.push("`proc.cmdline` must be a string without line breaks");
    else out.cmdline = raw["cmdline"];
  }
  return out;
}

function checkMount(m: unknown, at: string, problems: string[], sandboxPath: (v: unknown, at: string) => string | undefined): SandboxMount | undefined {
  if (!isObject(m)) {
    problems.push(`${at} must be an object with \`target\`, \`fstype\`, \`source\`, \`options\``);
    return undefined;
  }
  const before = problems.length;
  unknownKeys(m, ["target", "fstype", "source", "options"], at, problems);
  // `/` itself is a mount point too, unlike a file's path
  const target = m["target"] === "/" ? "/" : sandboxPath(m["target"], `${at}.target`);
  if (typeof m["fstype"] !== "string" || !FSTYPE.test(m["fstype"])) problems.push(`${at}.fstype must be a file system type such as "ext4" or "tmpfs"`);
  const source = m["source"] ?? m["fstype"];
  if (typeof source !== "string" || !/^[^\s\\\0]+$/.test(source)) problems.push(`${at}.source must be a device or name without white space or \`\\\``);
  const options = m["options"] ?? "rw";
  if (typeof options !== "string" || !MOUNT_OPTIONS.test(options)) problems.push(`${at}.options must be a comma-separated list such as "rw,nosuid,nodev" (letters, digits, \`_=,.:/-\`)`);
  if (problems.length > before || target === undefined) return undefined;
  return { target, fstype: m["fstype"] as string, source: source as string, options: options as string };
}

/** Problems of the merged `proc` that only the whole shows: a sysctl key that is a group of another. */
export function checkMergedProc(proc: SandboxProc, problems: string[]): void {
  const keys = Object.keys(proc.sysctl);
  for (const k of keys) if (keys.some((o) => o.startsWith(`${k}.`))) problems.push(`proc.sysctl.${k} is a group of other keys (such as ${keys.find((o) => o.startsWith(`${k}.`))}), not one parameter`);
}

/** A line of `rpm -qa --qf QUERY_FORMAT` (probes/rpm.ts: name, epoch, version, release, arch, tab-separated) for a package. */
export function rpmQaLine(name: string, p: SandboxPackage): string {
  const f = rpmFields(p.version)!;
  const line = [name, f.epoch !== undefined ? String(f.epoch) : "(none)", f.version, f.release, p.architecture ?? "x86_64"].join("\t");
  return `${line}\n`;
}
