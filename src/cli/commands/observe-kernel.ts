// `covenant observe modules` and `covenant observe sysctl --boot`: what kernel_module and
// sysctl { persistent = true } promises are judged on — loaded modules and modprobe's rules for
// them, and each file and line that sets a kernel parameter at boot.
import * as modprobeD from "../../probes/modprobe-d.js";
import * as modules from "../../probes/modules.js";
import * as sysctl from "../../probes/sysctl.js";
import * as sysctlD from "../../probes/sysctl-d.js";
import { below } from "../../probes/conf-dirs.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { renderTable } from "../table.js";
import { roots, UsageError, type ObserveOptions } from "./observe-report.js";

export { UsageError } from "./observe-report.js";

export interface KernelFlags {
  /** where /etc, /run, /usr/lib and /lib are read (a fixture, or /host in a container); `/` by default */
  configRoot?: string;
}

const at = (r: { path: string; line: number }) => (r.path === "/proc/cmdline" ? "kernel command line" : `${r.path}:${r.line}`);

function configPaths(flags: KernelFlags): (p: string) => string {
  return below(flags.configRoot === undefined || flags.configRoot === "/" ? undefined : flags.configRoot);
}

/** Every loaded module, or the named ones (loaded or not), with what modprobe would do for each. */
export function observeModules(names: string[], flags: KernelFlags, opts: ObserveOptions, io: Io): number {
  for (const n of names) if (!modules.isModuleName(n)) throw new UsageError(`\`${n}\` is not a module name`);
  const loaded = modules.read(roots(opts));
  const config = modprobeD.read(configPaths(flags), opts.procRoot);
  const table = loaded.ok ? new Map(loaded.value.map((m) => [m.name, m])) : undefined;
  const wanted = names.length > 0 ? names.map(modules.canonicalModule) : [...(table?.keys() ?? [])];
  const rows = wanted.map((name) => {
    const install = modprobeD.installRule(config, name);
    const m = table?.get(name);
    return {
      module: name,
      loaded: table === undefined ? null : m !== undefined,
      state: m?.state ?? null,
      usedBy: m?.usedBy ?? [],
      install: install ? { command: install.command.trim(), at: at(install) } : null,
      blacklisted: config.rules.filter((r) => r.kind === "blacklist" && modprobeD.ruleNames(r.module, name)).map(at),
      loadedAtBoot: config.bootLoads.filter((l) => l.module === name).map(at),
    };
  });
  if (opts.json) io.out(JSON.stringify({ data: rows, loadedError: loaded.ok ? null : loaded.error, skipped: [...(loaded.ok ? loaded.skipped : []), ...config.skipped] }, null, 2));
  else {
    const yes = (b: boolean | null) => (b === null ? "?" : b ? "yes" : "no");
    io.out(
      renderTable(
        ["MODULE", "LOADED", "USED BY", "INSTEAD OF LOADING", "BLACKLISTED", "LOADED AT BOOT"],
        rows.map((r) => [r.module, yes(r.loaded), r.usedBy.join(","), r.install ? `${r.install.command} (${r.install.at})` : "", r.blacklisted.join(", "), r.loadedAtBoot.join(", ")]),
      ),
    );
    if (!loaded.ok) io.err(`covenant: whether modules are loaded cannot be observed: ${escapeText(loaded.error.message)}`);
  }
  // naming modules when /proc/modules cannot be read still shows their configuration; listing all of them cannot
  return loaded.ok || names.length > 0 ? EXIT.ok : EXIT.policyError;
}

/** Each key's value now and every line that sets it at boot, the one that wins marked. */
export function observeSysctlBoot(keys: string[], flags: KernelFlags, opts: ObserveOptions, io: Io): number {
  const config = sysctlD.read(configPaths(flags));
  const rows = keys.map((key) => {
    const now = sysctl.read(roots(opts), key);
    const boot = sysctlD.atBoot(config, key);
    return {
      key,
      now: now.ok ? now.value : null,
      atBoot: boot.winner ? { value: boot.winner.value, at: at(boot.winner) } : null,
      settings: boot.settings.map((s) => ({ value: s.value, at: at(s), ignoreErrors: s.ignoreErrors, glob: s.glob })),
      hidden: boot.shadowed.map((s) => ({ value: s.value, at: at(s), hiddenBy: s.shadowedBy })),
    };
  });
  if (opts.json) io.out(JSON.stringify({ data: rows, skipped: config.skipped }, null, 2));
  else {
    const lines = (r: (typeof rows)[number]) => [...r.settings.map((s) => `${s.at} = ${s.value}`), ...r.hidden.map((s) => `${s.at} = ${s.value} (hidden by ${s.hiddenBy})`)].join("; ");
    io.out(renderTable(["KEY", "NOW", "AT BOOT", "SET BY"], rows.map((r) => [r.key, r.now ?? "?", r.atBoot ? `${r.atBoot.value} (${r.atBoot.at})` : "(kernel default)", lines(r)])));
  }
  return EXIT.ok;
}
