// The policy cache's object model round-trips: for the examples and the policy library, the
// Policy a run takes from the cache is the Policy a full check makes (deeply equal: Maps, AST
// values), except that each declaration's span is only its file, start and end (not its whole AST
// node), and the cache is used only when it says so. In process, on the sources, with
// an identity given (the built CLI's is its bundle's: policy-cache.test.ts runs that).
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { loadCheckedPolicy, type CheckedPolicy } from "../../src/cli/checked-policy.ts";
import { loadRunPolicy, saveCache } from "../../src/cli/run-policy.ts";
import type { Io } from "../../src/cli/io.ts";
import type { Policy } from "../../src/checker/policy.ts";

const identity = { version: "test", build: "roundtrip" };
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Where a declaration is: all a run reads of its span (checker/policy.ts). */
const at = (s: { file: string; start: number; end: number }) => ({ file: s.file, start: s.start, end: s.end });

/** `policy` with every control's, promise's, waiver's and promise type's span cut to where it is. */
function located(policy: Policy): Policy {
  return {
    ...policy,
    controls: policy.controls.map((c) => ({ ...c, span: at(c.span), promises: c.promises.map((p) => ({ ...p, span: at(p.span) })) })),
    waivers: policy.waivers.map((w) => ({ ...w, span: at(w.span) })),
    ...(policy.promiseTypes ? { promiseTypes: new Map([...policy.promiseTypes].map(([k, t]) => [k, { ...t, span: at(t.span) }])) } : {}),
  };
}

const quietIo = (errors: string[]): Io => ({ out: () => {}, err: (s: string) => errors.push(s), style: undefined, errStyle: undefined }) as unknown as Io;

/** Each policy directory of the examples and of the library: a directory holding .promise files directly. */
function policyDirs(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    const entries = readdirSync(d);
    if (entries.some((e) => e.endsWith(".promise"))) out.push(d);
    for (const e of entries) if (statSync(join(d, e)).isDirectory() && e !== "fixtures") walk(join(d, e));
  };
  walk("examples");
  walk("policies");
  return out;
}

describe("the policy cache round-trips every example and the policy library", () => {
  const dirs = policyDirs();
  it("finds the examples and the library", () => expect(dirs).toEqual(expect.arrayContaining(["examples/sox", "policies/sox-itgc"])));
  for (const dir of dirs) {
    it(`${dir}: from the cache, the same Policy as a full check`, async () => {
      const state = mkdtempSync(join(tmpdir(), "covenant-cache-rt-"));
      made.push(state);
      const errors: string[] = [];
      const opts = { include: [], today: "2026-12-06" };
      const cold = loadCheckedPolicy([dir], opts, quietIo(errors));
      if (typeof cold === "number") throw new Error(`${dir} does not check: ${errors.join("")}`);
      const first = (await loadRunPolicy([dir], { ...opts, cache: { stateDir: state, identity } }, quietIo(errors))) as CheckedPolicy;
      expect(first.cache).toEqual({ state: "checked", why: "none yet" });
      expect(saveCache(first, state)).toBeUndefined();
      const hit = (await loadRunPolicy([dir], { ...opts, cache: { stateDir: state, identity } }, quietIo(errors))) as CheckedPolicy;
      expect(hit.cache).toEqual({ state: "hit" });
      expect(isDeepStrictEqual(hit.policy, located(cold.policy))).toBe(true);
      expect(hit.files).toEqual(cold.files.map((f) => ({ path: f.path, text: f.text })));
      // another build's cache is never used
      const other = (await loadRunPolicy([dir], { ...opts, cache: { stateDir: state, identity: { ...identity, build: "another" } } }, quietIo(errors))) as CheckedPolicy;
      expect(other.cache).toEqual({ state: "checked", why: "written by another version of Covenant or node" });
      expect(errors).toEqual([]);
    });
  }
});
