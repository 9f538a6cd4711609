// What a promise watches, derived from its type and promiser: a file or glob path, a port, a
// service unit, an account, a package... Two promises that name the same thing share one resource
// (the names are put in the form the host uses: `.service` implied, `usb-storage` is `usb_storage`).

export type ResourceKind = "path" | "mount" | "port" | "service" | "account" | "group" | "package" | "kernel module" | "sysctl" | "job" | "process" | "program" | "host" | "other";

export interface Resource {
  kind: ResourceKind;
  name: string;
  /** a path with `*`, `?` or `[`: it stands for every file it matches */
  glob: boolean;
}

const PATH_TYPES = new Set(["file", "directory", "lines", "locks", "config"]);
const NAMED: Record<string, ResourceKind> = { account: "account", group: "group", package: "package", sysctl: "sysctl", scheduled: "job", process: "process" };
/** Host-wide checks with no promiser: what they read, said as a resource of the host */
const HOST_WIDE: Record<string, string> = { load: "system load", filehandles: "open file handles" };

const isGlob = (s: string): boolean => /[*?[]/.test(s);

/** The resources one promise watches (several for a list of ports; one for anything else). */
export function resourcesOf(type: string, promiser: unknown): Resource[] {
  if (promiser === undefined || promiser === null) return [{ kind: "host", name: HOST_WIDE[type] ?? type, glob: false }];
  if (type === "listener" || type === "connections") {
    const ports = Array.isArray(promiser) ? promiser : [promiser];
    return ports.map((p) => ({ kind: "port", name: String(p), glob: false }));
  }
  if (type === "command" && Array.isArray(promiser)) return [{ kind: "program", name: String(promiser[0] ?? ""), glob: false }];
  const text = typeof promiser === "string" ? promiser : JSON.stringify(promiser);
  if (PATH_TYPES.has(type)) return [{ kind: "path", name: text, glob: isGlob(text) }];
  if (type === "mount") return [{ kind: "mount", name: text, glob: false }];
  if (type === "service") return [{ kind: "service", name: text.includes(".") ? text : `${text}.service`, glob: false }];
  if (type === "kernel_module") return [{ kind: "kernel module", name: text.replace(/-/g, "_"), glob: false }];
  const named = NAMED[type];
  if (named) return [{ kind: named, name: text, glob: (named === "package" || named === "sysctl") && /[*?]/.test(text) }];
  return [{ kind: "other", name: `${type}: ${text}`, glob: false }];
}
