import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { CheckedPromise } from "../../checker/policy.js";
import * as sysctlProbe from "../../probes/sysctl.js";
import * as sysctlD from "../../probes/sysctl-d.js";
import type { Change } from "../change-gate.js";
import { attr, repairs, unionAttr, type Difference, type Observation, type PromiseBehaviour } from "../contract.js";
import { skipNotes } from "../observation-notes.js";
import { observeOwnFile, writeOwnFile, type OwnFile } from "../own-file.js";

interface Parameter {
  key: string;
  /** the /proc/sys file */
  path: string;
  value: string;
  /** with `persistent`: the lines that set it at boot */
  boot?: sysctlD.KeyAtBoot;
}

interface ObservedParameters {
  parameters: Parameter[];
  /** with `persistent`: the file `repair = set` writes */
  own?: OwnFile;
}

/**
 * The keys a promiser names: itself, or, where a part holds `*` (`net.ipv4.conf.*.rp_filter`),
 * every key that exists with a matching name there. A `.` in a file name is a `/` in its key part.
 */
function expandKey(sysDir: string, key: string): string[] {
  const joinKey = (k: string, next: string) => (k === "" ? next : `${k}.${next}`);
  let found = [{ key: "", dir: sysDir }];
  for (const part of key.split(".")) {
    if (!part.includes("*")) {
      found = found.map((f) => ({ key: joinKey(f.key, part), dir: join(f.dir, part.replace(/\//g, ".")) }));
      continue;
    }
    const pattern = new RegExp(`^${part.split("*").map(escapeRegExp).join(".*")}$`);
    const next: typeof found = [];
    for (const f of found) {
      let names: string[];
      try {
        names = readdirSync(f.dir).sort();
      } catch {
        continue; // no such group of parameters: nothing in it matches
      }
      for (const name of names) {
        const keyPart = name.replace(/\./g, "/");
        if (pattern.test(keyPart)) next.push({ key: joinKey(f.key, keyPart), dir: join(f.dir, name) });
      }
    }
    found = next;
  }
  return found.map((f) => f.key);
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.|?+()[\]{}]/g, "\\$&");
}

function promisedValue(p: CheckedPromise): string {
  return sysctlProbe.normalise(String(unionAttr(p, "value")!.value));
}

const at = (s: { path: string; line: number }) => `${s.path}:${s.line}`;

/** The file of its own `repair = set` writes for a persistent promise: 99- so that it applies late. */
function ownPath(promiser: string): string {
  return `/etc/sysctl.d/99-covenant-${promiser.replace(/[^A-Za-z0-9_.-]/g, "_")}.conf`;
}

function ownContent(promiser: string, keys: string[], value: string): string {
  return `# Written by Covenant (sysctl ${promiser}). Covenant rewrites this file while a policy promises it.\n${keys.map((k) => `${k} = ${value}\n`).join("")}`;
}

/** One line per setting, and the one that applies last at boot (systemd-sysctl's order). */
function bootNote(x: Parameter): string {
  const boot = x.boot!;
  if (boot.settings.length === 0 && boot.shadowed.length === 0) return `${x.key} at boot: set by no configuration file (the kernel's default)`;
  const lines = boot.settings.map((s) => `${at(s)} = ${JSON.stringify(s.value)}${s === boot.winner ? " (applies last: wins at boot)" : ""}`);
  const hidden = boot.shadowed.map((s) => `${at(s)} = ${JSON.stringify(s.value)} (not read: hidden by ${s.shadowedBy})`);
  return `${x.key} at boot: ${[...lines, ...hidden].join("; ")}`;
}

/**
 * The configuration read at boot, as the SCAP Security Guide judges it: at least one line sets
 * the key, and every line outside /usr/lib (or, when only /usr/lib sets it, every line there)
 * sets the promised value. Beyond SSG: the line that applies last must set it too, since it is
 * the one that decides (a /usr/lib file may sort after /etc's).
 */
function judgeBoot(x: Parameter, expected: string): Difference[] {
  const boot = x.boot!;
  const explicit = boot.settings.filter((s) => !s.glob);
  const applying = explicit.length > 0 ? explicit : boot.settings;
  const user = applying.filter((s) => !sysctlD.isVendor(s));
  const judged = user.length > 0 ? user : applying;
  const diff = (observed: string, reason: string, significant: string): Difference => ({ subject: x.key, attribute: "persistent", expected, observed, reason, significant });
  if (judged.length === 0) {
    return [diff("not set", `${x.key} is set by no sysctl.d file and not in ${sysctlD.sysctlConf}: at boot it keeps the kernel's default`, "none")];
  }
  const out = judged.filter((s) => s.value !== expected).map((s) => diff(s.value, `${x.key} is set to ${JSON.stringify(s.value)} at ${at(s)}, promised ${JSON.stringify(expected)}`, `${at(s)}=${s.value}`));
  const w = boot.winner;
  if (w && w.value !== expected && !judged.includes(w)) out.push(diff(w.value, `at boot ${x.key} is set to ${JSON.stringify(w.value)} by ${at(w)}, which applies last, promised ${JSON.stringify(expected)}`, `${at(w)}=${w.value}`));
  return out;
}

export const sysctlBehaviour: PromiseBehaviour<ObservedParameters> = {
  observe(p, ctx): Observation<ObservedParameters> {
    const key = p.promiser as string;
    const sysDir = join(ctx.roots.proc, "sys");
    const keys = key.includes("*") ? expandKey(sysDir, key) : [key];
    const parameters: Parameter[] = [];
    for (const k of keys) {
      const r = sysctlProbe.read(ctx.roots, k);
      if (!r.ok) {
        // a `*` also matches groups that lack the parameter, or that are groups themselves
        if (key.includes("*") && (r.error.code === "not-found" || r.error.code === "malformed")) continue;
        if (r.error.code === "not-found") return { ok: false, error: `no such kernel parameter: ${k} (${r.error.path} does not exist)` };
        return { ok: false, error: r.error.message };
      }
      parameters.push({ key: k, path: join(sysDir, sysctlProbe.keyToPath(k)!), value: r.value });
    }
    if (parameters.length === 0) return { ok: false, error: `no kernel parameter matches ${key} (under ${sysDir})` };
    if (!attr<boolean>(p, "persistent")) return { ok: true, value: { parameters } };
    const config = sysctlD.read((q) => ctx.hostPath(q));
    for (const x of parameters) x.boot = sysctlD.atBoot(config, x.key);
    const own = observeOwnFile(ownPath(key), (q) => ctx.hostPath(q));
    // a bad line is noted where it is in a file that sets this key (or a file could not be read at all)
    const files = new Set(parameters.flatMap((x) => x.boot!.settings.map((s) => s.path)));
    const notes = [...parameters.map(bootNote), ...skipNotes(config.skipped.filter((s) => s.line === undefined || files.has(s.path)))];
    return { ok: true, value: { parameters, own }, notes };
  },

  judge(p, o) {
    const expected = promisedValue(p);
    const diffs: Difference[] = [];
    for (const x of o.parameters) {
      if (x.value !== expected) diffs.push({ subject: x.key, attribute: "value", expected, observed: x.value, reason: `${x.key} is ${JSON.stringify(x.value)}, promised ${JSON.stringify(expected)}` });
      if (x.boot) diffs.push(...judgeBoot(x, expected));
    }
    return diffs;
  },

  repair(p, o, differences) {
    if (!repairs(p).includes("set")) return [];
    const value = promisedValue(p);
    const changes: Change[] = [];
    for (const x of o.parameters) if (differences.some((d) => d.subject === x.key && d.attribute === "value")) changes.push({ op: "sysctl", key: x.key, path: x.path, value });
    // the file of its own sets every key the promiser names; lines of other files are left to their owners
    if (o.own && differences.some((d) => d.attribute === "persistent")) changes.push(...writeOwnFile(o.own, ownContent(p.promiser as string, o.parameters.map((x) => x.key), value)));
    return changes;
  },
};
