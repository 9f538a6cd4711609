import * as modprobeD from "../../probes/modprobe-d.js";
import * as modules from "../../probes/modules.js";
import type { LoadedModule } from "../../probes/modules.js";
import type { Change } from "../change-gate.js";
import { attr, repairs, type Difference, type Observation, type PromiseBehaviour } from "../contract.js";
import { observeOwnFile, writeOwnFile, type OwnFile } from "../own-file.js";
import { skipNotes } from "../observation-notes.js";

/** What an `install` rule may run for the module to count as prevented (the SCAP Security Guide's rule). */
const preventing = new Set(["/bin/false", "/bin/true"]);

type Rule<K extends modprobeD.ModprobeRule["kind"]> = modprobeD.ModprobeRule & { kind: K };

interface ObservedModule {
  /** as kmod compares it (`_` for `-`) */
  module: string;
  /** observed only when `loaded` is promised; null: not loaded */
  loaded?: LoadedModule | null;
  /** every install rule naming it, in the order modprobe reads them: the first is the one it runs */
  installs: Rule<"install">[];
  blacklists: Rule<"blacklist">[];
  bootLoads: modprobeD.BootLoad[];
  own: OwnFile;
}

const at = (r: { path: string; line: number }) => (r.path === "/proc/cmdline" ? "the kernel command line" : `${r.path}:${r.line}`);

function ownPath(module: string): string {
  return `/etc/modprobe.d/00-covenant-${module}.conf`;
}

/** The lines a promise asks for: both, unless it promises the module not prevented or not blacklisted. */
function ownContent(module: string, lines: { install: boolean; blacklist: boolean } = { install: true, blacklist: true }): string {
  const rules = [lines.install ? `install ${module} /bin/false\n` : "", lines.blacklist ? `blacklist ${module}\n` : ""].join("");
  return `# Written by Covenant (kernel_module ${module}). Covenant rewrites this file while a policy promises it.\n${rules}`;
}

function judgePrevented(o: ObservedModule, want: boolean): Difference[] {
  const m = o.module;
  const first = o.installs[0];
  const prevents = first !== undefined && preventing.has(first.command.trim());
  if (!want) {
    if (!prevents) return [];
    return [{ attribute: "prevented", expected: "false", observed: "true", reason: `modprobe is prevented from loading ${m}: ${at(first)} runs \`${first.command.trim()}\` instead` }];
  }
  const out: Difference[] = [];
  if (!first) {
    const only = o.blacklists.length > 0 ? `; it is only blacklisted (${o.blacklists.map(at).join(", ")}), which stops loading for an alias, not \`modprobe ${m}\`` : "";
    out.push({ attribute: "prevented", expected: "true", observed: "false", reason: `nothing prevents modprobe from loading ${m}: no \`install ${m} /bin/false\` rule in ${modprobeD.modprobeDirs.join(", ")}${only}` });
  } else if (!prevents) {
    const later = o.installs.slice(1).find((r) => preventing.has(r.command.trim()));
    const unused = later ? `; the rule at ${at(later)} comes later and is not used (modprobe runs the first)` : "";
    out.push({ attribute: "prevented", expected: "true", observed: "false", reason: `modprobe runs \`${first.command.trim()}\` for ${m} (${at(first)}), not /bin/false or /bin/true${unused}` });
  }
  for (const l of o.bootLoads) out.push({ subject: at(l), attribute: "prevented", expected: "not loaded at boot", observed: "loaded at boot", reason: `${m} is listed to be loaded at boot at ${at(l)}` });
  return out;
}

export const kernel_moduleBehaviour: PromiseBehaviour<ObservedModule> = {
  observe(p, ctx): Observation<ObservedModule> {
    const module = modules.canonicalModule(p.promiser as string);
    const config = modprobeD.read((q) => ctx.hostPath(q), ctx.roots.proc);
    const value: ObservedModule = {
      module,
      installs: config.rules.filter((r): r is Rule<"install"> => r.kind === "install" && modprobeD.ruleNames(r.module, module)),
      blacklists: config.rules.filter((r): r is Rule<"blacklist"> => r.kind === "blacklist" && modprobeD.ruleNames(r.module, module)),
      bootLoads: config.bootLoads.filter((l) => l.module === module),
      own: observeOwnFile(ownPath(module), (q) => ctx.hostPath(q)),
    };
    if (attr<boolean>(p, "loaded") !== undefined) {
      const r = modules.read(ctx.roots);
      if (!r.ok) return { ok: false, error: `cannot tell whether ${module} is loaded: ${r.error.message}` };
      value.loaded = r.value.find((m) => m.name === module) ?? null;
    }
    // a bad line of some other module's rule is modprobe's business; a file that cannot be read is this promise's
    const notes = skipNotes(config.skipped.filter((s) => s.line === undefined || value.installs.some((r) => r.path === s.path)));
    return notes.length > 0 ? { ok: true, value, notes } : { ok: true, value };
  },

  judge(p, o) {
    const out: Difference[] = [];
    const loaded = attr<boolean>(p, "loaded");
    if (loaded !== undefined && o.loaded !== undefined && (o.loaded !== null) !== loaded) {
      const uses = o.loaded && o.loaded.usedBy.length > 0 ? ` (used by ${o.loaded.usedBy.join(", ")})` : "";
      out.push({ attribute: "loaded", expected: String(loaded), observed: String(!loaded), reason: loaded ? `${o.module} is not loaded` : `${o.module} is loaded${uses}` });
    }
    const prevented = attr<boolean>(p, "prevented");
    if (prevented !== undefined) out.push(...judgePrevented(o, prevented));
    const blacklisted = attr<boolean>(p, "blacklisted");
    if (blacklisted === true && o.blacklists.length === 0) out.push({ attribute: "blacklisted", expected: "true", observed: "false", reason: `no \`blacklist ${o.module}\` rule` });
    if (blacklisted === false && o.blacklists.length > 0) out.push({ attribute: "blacklisted", expected: "false", observed: "true", reason: `${o.module} is blacklisted at ${o.blacklists.map(at).join(", ")}` });
    return out;
  },

  repair(p, o, differences) {
    const allowed = repairs(p);
    const changes: Change[] = [];
    const wantsFile = differences.some((d) => (d.attribute === "prevented" || d.attribute === "blacklisted") && d.expected === "true");
    const lines = { install: attr<boolean>(p, "prevented") !== false, blacklist: attr<boolean>(p, "blacklisted") !== false };
    if (allowed.includes("prevent") && wantsFile) changes.push(...writeOwnFile(o.own, ownContent(o.module, lines)));
    // unloading only where the policy names it: a module in use may take a device or a file system with it
    if (allowed.includes("unload") && differences.some((d) => d.attribute === "loaded" && d.expected === "false")) changes.push({ op: "modprobe-remove", module: o.module });
    return changes;
  },
};

/** For tests and docs: the file `repair = prevent` writes. */
export const ownModprobeFile = { path: ownPath, content: ownContent };
