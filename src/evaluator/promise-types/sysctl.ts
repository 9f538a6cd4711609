import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { CheckedPromise } from "../../checker/policy.js";
import * as sysctlProbe from "../../probes/sysctl.js";
import type { Change } from "../change-gate.js";
import { repairs, unionAttr, type Difference, type Observation, type PromiseBehaviour } from "../contract.js";

interface Parameter {
  key: string;
  /** the /proc/sys file */
  path: string;
  value: string;
}

interface ObservedParameters {
  parameters: Parameter[];
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
    return { ok: true, value: { parameters } };
  },

  judge(p, o) {
    const expected = promisedValue(p);
    const diffs: Difference[] = [];
    for (const x of o.parameters) {
      if (x.value === expected) continue;
      diffs.push({ subject: x.key, attribute: "value", expected, observed: x.value, reason: `${x.key} is ${JSON.stringify(x.value)}, promised ${JSON.stringify(expected)}` });
    }
    return diffs;
  },

  repair(p, o, differences) {
    if (!repairs(p).includes("set")) return [];
    const value = promisedValue(p);
    const changes: Change[] = [];
    for (const x of o.parameters) if (differences.some((d) => d.subject === x.key)) changes.push({ op: "sysctl", key: x.key, path: x.path, value });
    return changes;
  },
};
