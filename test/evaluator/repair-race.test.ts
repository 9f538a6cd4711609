// An adversary who can write inside a tree that Covenant repairs swaps a directory for a symbolic
// link to somewhere else while the repair runs. Path-based calls would follow the link and chown
// a file the policy never names; the gate reaches every file without following links and checks
// it is the object observed, so nothing outside the named tree ever changes.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkPaths } from "../../src/checker/check.ts";
import { evaluate } from "../../src/evaluator/engine.ts";
import { readFacts } from "../../src/facts/host.ts";
import { MemoryBaselines, MemorySamples } from "../../src/store/memory.ts";
import { safeFs } from "../../src/native/safe-fs.ts";

const ROUNDS = 1000;

// Swaps tree/sub for a link to the victims' directory and back, as fast as it can, until killed.
const swapper = `
const { renameSync, symlinkSync } = require("node:fs");
const [tree, victims] = process.argv.slice(1);
symlinkSync(victims, tree + "/.link");
for (;;) {
  try {
    renameSync(tree + "/sub", tree + "/.real");
    renameSync(tree + "/.link", tree + "/sub");
    renameSync(tree + "/sub", tree + "/.link");
    renameSync(tree + "/.real", tree + "/sub");
  } catch {}
}`;

function victimState(dir: string): string {
  return ["", "/secret", "/deep", "/deep/ledger.key", "/journal.dat"]
    .map((p) => {
      const st = lstatSync(dir + p);
      return `${p} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.ino} ${st.ctimeMs} ${st.isFile() ? readFileSync(dir + p, "utf8") : ""}`;
    })
    .join("\n");
}

describe("repairs under a racing symlink swap", () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill("SIGKILL");
  });

  it.each([
    ["openat2", false],
    ["the component walk of kernels before 5.6", true],
  ])(`changes nothing outside the named tree in ${ROUNDS} repairs, in place and in a sandbox (%s)`, async (_how, walk) => {
    safeFs()!.forceWalk(walk);
    const base = mkdtempSync(join(tmpdir(), "covenant-race-"));
    const root = join(base, "sandbox", "root");
    const tree = join(root, "srv/tree");
    mkdirSync(join(tree, "sub"), { recursive: true });
    for (const f of ["a.dat", "b.dat", "sub/secret", "sub/journal.dat"]) writeFileSync(join(tree, f), f);
    const victims = join(base, "victims");
    mkdirSync(join(victims, "deep"), { recursive: true });
    writeFileSync(join(victims, "secret"), "not named by the policy");
    writeFileSync(join(victims, "deep/ledger.key"), "not named either");
    writeFileSync(join(victims, "journal.dat"), "the victim's own journal");
    const approved = [join(base, "approved-a.dat"), join(base, "approved-b.dat")];
    writeFileSync(approved[0]!, "approved A\n");
    writeFileSync(approved[1]!, "approved B\n");
    for (const p of ["", "/secret", "/deep", "/deep/ledger.key", "/journal.dat"]) chmodSync(victims + p, p.endsWith("deep") || p === "" ? 0o700 : 0o600);
    const before = victimState(victims);

    // every round has something of every kind to repair below the raced directory: the group
    // (chown) and the mode (chmod) of every entry, and the content of tree/sub/journal.dat
    // (restore), each asking for the other value than the round before
    const policyFor = (k: 0 | 1, path: string, sandbox: boolean) => {
      const file = join(base, `${k}-${sandbox}.promise`);
      writeFileSync(
        file,
        `control "T-1" {\n  title = "race"\n` +
          `  directory "${path}" { recurse = true group = "${["root", "nogroup"][k]}" max_mode = ${["0750", "0700"][k]} repair = perms }\n` +
          `  file "${path}/sub/journal.dat" { baseline = "${sandbox ? "/approved.dat" : approved[k]!}" repair = content }\n}\n`,
      );
      const checked = checkPaths([file]);
      if (!checked.policy) throw new Error(checked.diagnostics.map((d) => d.message).join("\n"));
      return checked.policy;
    };
    const inPlace = [policyFor(0, tree, false), policyFor(1, tree, false)];
    const sandboxed = [policyFor(0, "/srv/tree", true), policyFor(1, "/srv/tree", true)];

    const child = spawn(process.execPath, ["-e", swapper, tree, victims], { stdio: "ignore" });
    children.push(child);
    await new Promise((r) => setTimeout(r, 200));

    const now = new Date();
    const facts = readFacts({ now });
    let applied = 0;
    let refused = 0;
    const kinds = new Set<string>();
    for (let i = 0; i < ROUNDS; i++) {
      const sandbox = i % 2 === 1;
      const k = Math.floor(i / 2) % 2;
      const policy = (sandbox ? sandboxed : inPlace)[k]!;
      // the sandbox's approved copy alternates too, so that its journal always differs from it
      if (sandbox) writeFileSync(join(root, "approved.dat"), `approved ${"AB"[k]}\n`);
      const e = await evaluate(policy, {
        roots: { proc: "/proc", etc: "/etc" },
        dryRun: false,
        facts,
        now,
        baselines: new MemoryBaselines(),
        samples: new MemorySamples(),
        ...(sandbox ? { filesRoot: root, confineTo: join(base, "sandbox") } : {}),
      });
      for (const c of e.changes) {
        if (c.status === "applied") {
          applied++;
          kinds.add(c.change.op);
          // what the report says was changed is a path inside the named tree
          expect((c.change as { path: string }).path.startsWith(tree + "/") || (c.change as { path: string }).path === tree).toBe(true);
        } else if (c.status === "failed") refused++;
      }
    }
    child.kill("SIGKILL");
    safeFs()!.forceWalk(false);
    expect(victimState(victims)).toBe(before);
    // the race was real: some repairs met a swapped path and were refused, many went through
    expect(refused).toBeGreaterThan(0);
    expect(applied).toBeGreaterThan(ROUNDS);
    expect([...kinds].sort()).toEqual(["chmod", "chown", "restore"]);
  }, 120_000);
});
