// `covenant observe packages [pattern]`: the packages the package database records (dpkg's
// status file read directly, or `rpm -qa`), as a `package` promise sees them. Cheap: one read of
// the database, no package manager run on a dpkg host.
import * as packages from "../../probes/packages.js";
import type { Io } from "../io.js";
import { renderTable } from "../table.js";
import { report, UsageError, type ObserveOptions } from "./observe-report.js";

export { UsageError } from "./observe-report.js";

export interface PackageFilters {
  /** the root whose database is read (`/`; a container's or a sandbox's root) */
  root: string;
}

export function observePackages(pattern: string | undefined, filters: PackageFilters, opts: ObserveOptions, io: Io): number {
  if (pattern !== undefined && !/^[A-Za-z0-9_+*?][A-Za-z0-9_+.*?:-]*$/.test(pattern)) throw new UsageError(`\`${pattern}\` is not a package name or pattern (letters, digits, \`+.-_:\`, and \`*\`, \`?\`)`);
  if (!filters.root.startsWith("/")) throw new UsageError(`--root must be an absolute path, got \`${filters.root}\``);
  const [name, arch] = pattern?.includes(":") ? pattern.split(":", 2) : [pattern, undefined];
  const re = name === undefined ? undefined : new RegExp(`^${name.replace(/[.+^$()|[\]{}\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  const r = packages.read(filters.root);
  // as `dpkg-query -W` lists them: every record but those of purged packages
  const listed: typeof r = r.ok ? { ...r, value: { ...r.value, packages: r.value.packages.filter((p) => p.status !== "not-installed" && (re === undefined || re.test(p.name)) && (arch === undefined || p.architecture === arch)) } } : r;
  return report(
    listed,
    io,
    opts,
    (v) => v,
    (v) => {
      const installed = v.packages.filter((p) => p.installed).length;
      const table = renderTable(["NAME", "VERSION", "ARCH", "STATUS"], v.packages.map((p) => [p.name, p.version, p.architecture, p.held ? `${p.status} (held)` : p.status]));
      return `${table}\n${v.packages.length} package${v.packages.length === 1 ? "" : "s"} (${installed} installed) from ${v.source}`;
    },
  );
}
