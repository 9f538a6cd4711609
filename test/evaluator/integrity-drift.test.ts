// Which integrity findings are drift (issue 15): with `integrity`, an unapproved change of what a
// path is (content, mode, a new entry in a tree...) is a deficiency, one Difference per path;
// a change of only mtime or inode (touch, a `sed -i` that changes nothing) is shown and kept;
// `watch = realtime` alone shows findings without promising anything. Real files, real store.
import { chmodSync, mkdirSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import { run, scene as sceneIn } from "../helpers/recorded-run.ts";

const scene = (promises: (dir: string) => string) => sceneIn(promises, "covenant-drift-");


const integrityDiffs = (r: PromiseResult) => r.differences.filter((d) => d.attribute === "integrity");

describe("integrity drift", () => {
  it("a file with integrity: a mode change alone is drift; a second change is a new state; a touch is shown, not drift", async () => {
    const s = scene((d) => `  file "${d}/gl.dat" { integrity = sha256 }`);
    const gl = join(s.dir, "gl.dat");
    writeFileSync(gl, "balance = 100\n", { mode: 0o640 });
    chmodSync(gl, 0o640);
    expect((await run(s)).get(gl)!.outcome).toBe("kept");

    chmodSync(gl, 0o666);
    const first = (await run(s)).get(gl)!;
    expect(first.outcome).toBe("drift");
    const [d1] = integrityDiffs(first);
    expect(integrityDiffs(first)).toHaveLength(1);
    expect(d1!.reason).toBe(`${gl}: changed since approved (mode) — approve it with \`covenant approve\``);
    expect(d1!.significant).toMatch(/^[0-9a-f]{64}$/);

    chmodSync(gl, 0o644);
    const second = integrityDiffs((await run(s)).get(gl)!)[0]!;
    expect(second.significant).not.toBe(d1!.significant);

    chmodSync(gl, 0o640);
    const future = new Date(Date.now() + 3_600_000);
    utimesSync(gl, future, future);
    const touched = (await run(s)).get(gl)!;
    expect(touched.outcome).toBe("kept");
    expect(touched.findings![0]!.changes.map((c) => c.kind)).toEqual(["mtime"]);
  });

  it("content and mode changed: one Difference naming both", async () => {
    const s = scene((d) => `  file "${d}/gl.dat" { integrity = sha256 }`);
    const gl = join(s.dir, "gl.dat");
    writeFileSync(gl, "balance = 100\n");
    chmodSync(gl, 0o640);
    await run(s);
    writeFileSync(gl, "balance = 1000000\n");
    chmodSync(gl, 0o600);
    const r = (await run(s)).get(gl)!;
    expect(r.outcome).toBe("drift");
    expect(integrityDiffs(r)).toHaveLength(1);
    expect(integrityDiffs(r)[0]!.reason).toBe(`${gl}: changed since approved (content, mode) — approve it with \`covenant approve\``);
  });

  it("the same bytes written into a new inode (sed -i that changes nothing) are not drift", async () => {
    const s = scene((d) => `  file "${d}/gl.dat" { integrity = sha256 }`);
    const gl = join(s.dir, "gl.dat");
    writeFileSync(gl, "balance = 100\n");
    chmodSync(gl, 0o640);
    await run(s);
    const tmp = join(s.dir, "sedXYZ");
    writeFileSync(tmp, "balance = 100\n");
    chmodSync(tmp, 0o640);
    renameSync(tmp, gl);
    const r = (await run(s)).get(gl)!;
    expect(r.outcome).toBe("kept");
    expect(r.findings![0]!.changes.map((c) => c.kind)).toContain("inode");
  });

  it("watch = realtime without integrity: a content change is shown and the promise is kept", async () => {
    const s = scene((d) => `  file "${d}/app.log.conf" { watch = realtime }`);
    const f = join(s.dir, "app.log.conf");
    writeFileSync(f, "a\n");
    await run(s);
    writeFileSync(f, "b\n");
    const r = (await run(s)).get(f)!;
    expect(r.outcome).toBe("kept");
    expect(r.findings![0]!.changes.map((c) => c.kind)).toContain("content");
  });

  it("a realtime directory: drift per changed entry only when it asks for integrity", async () => {
    const s = scene((d) => `  directory "${d}/kept" { watch = realtime integrity = sha256 }\n  directory "${d}/shown" { watch = realtime }`);
    for (const name of ["kept", "shown"]) {
      mkdirSync(join(s.dir, name));
      writeFileSync(join(s.dir, name, "a"), "a\n");
    }
    await run(s);
    for (const name of ["kept", "shown"]) {
      writeFileSync(join(s.dir, name, "new"), "x\n");
      chmodSync(join(s.dir, name, "a"), 0o600);
    }
    const results = await run(s);
    const kept = results.get(join(s.dir, "kept"))!;
    expect(kept.outcome).toBe("drift");
    const reasons = integrityDiffs(kept).map((d) => d.reason).sort();
    expect(reasons).toEqual([`${join(s.dir, "kept", "a")}: changed since approved (mode) — approve it with \`covenant approve\``, `${join(s.dir, "kept", "new")}: changed since approved (created) — approve it with \`covenant approve\``]);
    const shown = results.get(join(s.dir, "shown"))!;
    expect(shown.outcome).toBe("kept");
    expect(shown.findings!.length).toBeGreaterThanOrEqual(2);
  });

  it("a mode the promise states is judged by it: Covenant's own perms repair is no unapproved change", async () => {
    const s = scene((d) => `  file "${d}/gl.dat" { integrity = sha256 mode = 0640 repair = perms }`);
    const gl = join(s.dir, "gl.dat");
    writeFileSync(gl, "balance = 100\n");
    chmodSync(gl, 0o664);
    expect((await run(s)).get(gl)!.outcome).toBe("repaired");
    const after = (await run(s)).get(gl)!;
    expect(after.outcome).toBe("kept");
    // and the state the repair left is the approved one (integrity-repaired.ts): nothing to show
    expect(after.findings).toBeUndefined();
    // a chmod by someone else afterwards is judged by the promise's mode, and shown as changed since approved
    chmodSync(gl, 0o644);
    const again = (await run(s)).get(gl)!;
    expect(again.outcome).toBe("repaired");
    expect(again.findings![0]!.changes.map((c) => c.kind)).toContain("mode");
  });
});
