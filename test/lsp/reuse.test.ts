// A check that takes controls' results again from the last check (CheckMemo, as the server's
// workspace keeps one per folder) gives what a check from scratch gives: the same diagnostics,
// at the same places, and the same checked controls, after every edit of a sequence: edits that
// make and unmake whole-policy problems (a duplicate id, a contradiction across controls), a
// variable renamed under the controls that use it, text added above controls with diagnostics
// (their diagnostics move), and random edits over the examples and the policy library.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/parser/diagnostics.js";
import { Workspace, type ServerOptions } from "../../src/lsp/workspace.js";
import { policyFiles, TODAY } from "./lsp-helpers.js";

const options: ServerOptions = { include: [], today: TODAY };
const work: string[] = [];
afterAll(() => {
  for (const w of work) rmSync(w, { recursive: true, force: true });
});

/** A copy of `source`'s policy files, held by a workspace that is edited as the server's is, and checked against a fresh one. */
class Edited {
  readonly folder = mkdtempSync(join(tmpdir(), "covenant-reuse-"));
  readonly texts = new Map<string, string>();
  readonly kept = new Workspace([this.folder], options);
  reused = 0;

  /** `source`: a folder whose policy files are copied, or the files' names and texts */
  constructor(source: string | Record<string, string>) {
    work.push(this.folder);
    const files = typeof source === "string" ? policyFiles(source).map((f) => [basename(f), readFileSync(f, "utf8")] as const) : Object.entries(source);
    for (const [name, text] of files) {
      const path = join(this.folder, name);
      writeFileSync(path, text);
      this.texts.set(path, text);
      this.kept.open(path, text);
    }
  }

  path(name: string): string {
    return join(this.folder, name);
  }

  /** Replaces `text`'s first `find` in file `name` (as the editor sends it: the one range that changed). */
  replace(name: string, find: string | RegExp, by: string): void {
    const path = this.path(name);
    const before = this.texts.get(path)!;
    const after = before.replace(find, by);
    expect(after, `${String(find)} is in ${name}`).not.toBe(before);
    this.edit(path, after);
  }

  edit(path: string, after: string): void {
    const before = this.texts.get(path)!;
    let start = 0;
    while (start < before.length && start < after.length && before[start] === after[start]) start++;
    let tail = 0;
    while (tail < before.length - start && tail < after.length - start && before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail++;
    this.texts.set(path, after);
    this.kept.open(path, after, { before, start, oldEnd: before.length - tail, newEnd: after.length - tail });
  }

  /** The kept workspace's diagnostics, once held equal to a fresh workspace's (and its checked controls to the fresh ones). */
  check(): Diagnostic[] {
    const kept = this.kept.check(this.folder);
    this.reused += this.kept.memos.get(this.folder)!.reused;
    const fresh = new Workspace([this.folder], options);
    for (const [path, text] of this.texts) fresh.open(path, text);
    const again = fresh.check(this.folder);
    expect(kept.diagnostics).toEqual(again.diagnostics);
    expect(JSON.stringify(kept.policy?.controls)).toBe(JSON.stringify(again.policy?.controls));
    return kept.diagnostics;
  }
}

const codes = (ds: Diagnostic[]) => ds.map((d) => d.code);

describe("a check that takes controls again from the last check", () => {
  it("reports a control id used twice when an edit makes it, and no more when the edit is undone", () => {
    const w = new Edited(resolve("examples/sox"));
    expect(codes(w.check())).not.toContain("E108");
    const twin = '\ncontrol "ITGC-CM-02" {\n  title = "again"\n  owner = compliance\n  file "/x" { mode = 0600 }\n}\n';
    w.replace("access.promise", /$/, twin);
    expect(codes(w.check())).toContain("E108");
    w.replace("access.promise", twin, "");
    expect(codes(w.check())).not.toContain("E108");
    expect(w.reused).toBeGreaterThan(0);
  });

  it("reports a contradiction across files when an edit makes it, and no more when it is undone", () => {
    const w = new Edited(resolve("test/lsp/fixtures/contradicting-promises"));
    expect(codes(w.check())).toContain("E111");
    w.replace("hardening.promise", "mode = 0600", "mode = 0640");
    expect(codes(w.check())).not.toContain("E111");
    w.replace("hardening.promise", "mode = 0640", "mode = 0600");
    expect(codes(w.check())).toContain("E111");
    expect(w.reused).toBeGreaterThan(0);
  });

  it("checks again the controls that use a variable renamed, and takes them again once it is back", () => {
    const w = new Edited(resolve("examples/sox"));
    const clean = w.check();
    w.replace("common.promise", "let ledger_dir ", "let ledger_root ");
    const renamed = w.check();
    // every use of the old name is now unknown, and the new name unused
    expect(renamed.filter((d) => d.message.includes("ledger_dir")).length).toBeGreaterThanOrEqual(3);
    expect(renamed.some((d) => d.code === "W201" && d.message.includes("ledger_root"))).toBe(true);
    w.replace("common.promise", "let ledger_root ", "let ledger_dir ");
    expect(w.check()).toEqual(clean);
  });

  it("takes every control again when a waiver, the calendar or a stakeholder's description changes, and none when a stakeholder is renamed", () => {
    const w = new Edited(resolve("examples/sox"));
    w.check();
    const memo = () => w.kept.memos.get(w.folder)!;
    const all = memo().reused + memo().checked;
    const untouched = (name: string, find: string, by: string, code?: string) => {
      w.replace(name, find, by);
      const said = codes(w.check());
      if (code !== undefined) expect(said).toContain(code);
      // the file edited was parsed whole or in part: its controls may be new nodes, the others' are not
      expect(memo().reused).toBeGreaterThan(0);
    };
    untouched("operations.promise", "until       = 2027-03-31", "until       = 2026-11-30", "W203");
    untouched("common.promise", "weekend  = [saturday, sunday]", "weekend  = [friday, saturday]");
    untouched("common.promise", '"Infrastructure operations"', '"Infrastructure operations (on call)"');
    expect(memo().reused + memo().checked).toBe(all);
    w.replace("common.promise", "stakeholder compliance ", "stakeholder compliance_office ");
    expect(codes(w.check())).toContain("E113");
    expect(memo().reused).toBe(0);
  });

  it("moves a taken control's diagnostics with it when text is added above it", () => {
    const w = new Edited(resolve("test/lsp/fixtures/contradicting-promises"));
    // a control with its own warning (no owner) and an unknown attribute, below another
    w.replace("hardening.promise", /$/, '\ncontrol "LATE" {\n  title = "late"\n  file "/late" { mdoe = 0600 }\n}\n');
    const before = w.check();
    w.replace("hardening.promise", "// The other half", "// A line above it all.\n\n// The other half");
    const after = w.check();
    const late = (ds: Diagnostic[]) => ds.filter((d) => d.span.file.endsWith("hardening.promise") && (d.code === "W202" || d.code === "E101"));
    expect(late(after).length).toBe(2);
    expect(late(after).map((d) => d.span.start)).toEqual(late(before).map((d) => d.span.start + "// A line above it all.\n\n".length));
    expect(w.kept.memos.get(w.folder)!.reused).toBeGreaterThan(0);
  });

  it("moves what a taken control says of a variable when an edit moves the variable", () => {
    const w = new Edited({ "a.promise": '// names\nstakeholder ops\nlet m = "rw"\n', "b.promise": 'control "C" {\n  title = "t"\n  owner = ops\n  file "/x" { mode = m }\n}\n' });
    const fromHere = (ds: Diagnostic[]) => ds.flatMap((d) => d.related ?? []).filter((r) => r.span.file.endsWith("a.promise")).map((r) => r.span.start);
    const before = fromHere(w.check());
    expect(before).toHaveLength(1);
    w.replace("a.promise", "// names", "// the names\n// of the policy");
    const after = fromHere(w.check());
    expect(after).toEqual([before[0]! + "// the names\n// of the policy".length - "// names".length]);
    expect(w.kept.memos.get(w.folder)!.reused).toBe(1);
  });

  it("takes again what the controls took from the expansion budget, and checks again the one that now spends it", () => {
    // a 4 Mi-character string, used by 20 controls: the budget (4 × 16 Mi and 4 × the policy's
    // size) is spent at the 17th use, which alone says so (E124, once)
    let text = 'stakeholder ops\nlet a0 = "x"\n';
    for (let i = 1; i <= 22; i++) text += `let a${i} = "\${a${i - 1}}\${a${i - 1}}"\n`;
    for (let c = 1; c <= 20; c++) text += `control "C-${c}" {\n  title = "t${c}"\n  owner = ops\n  file "/f${c}" { mode = 0644 owner = a22 }\n}\n`;
    const w = new Edited({ "budget.promise": text });
    const spent = (ds: Diagnostic[]) => ds.filter((d) => d.code === "E124").map((d) => w.texts.get(w.path("budget.promise"))!.slice(0, d.span.start).split("\n").length);
    const first = spent(w.check());
    expect(first).toHaveLength(1);
    // a use fewer before it: spent one control later
    w.replace("budget.promise", 'file "/f1" { mode = 0644 owner = a22 }', 'file "/f1" { mode = 0644 owner = "root" }');
    const later = spent(w.check());
    expect(later).toHaveLength(1);
    expect(later[0]).toBeGreaterThan(first[0]!);
    // and back: spent where it was, by a control whose last check was taken again until then
    w.replace("budget.promise", 'file "/f1" { mode = 0644 owner = "root" }', 'file "/f1" { mode = 0644 owner = a22 }');
    expect(spent(w.check())).toEqual(first);
    expect(w.reused).toBeGreaterThan(20);
  }, 60_000);

  it("counts the variables a taken control's strings go through as used, when the control that first put them in a string no longer does", () => {
    // `dir` is put in strings through `base`: once a string has held `${dir}`, its text is known,
    // and a later use of it goes through `base` no more; the first use is the one edited away
    const w = new Edited({
      "p.promise":
        'stakeholder ops\nlet base = "/srv"\nlet dir = "${base}/app"\n' +
        'control "C1" {\n  title = "one"\n  owner = ops\n  file "${dir}/one" { mode = 0600 }\n}\n' +
        'control "C2" {\n  title = "two"\n  owner = ops\n  file "${dir}/two" { mode = 0600 }\n}\n',
    });
    expect(codes(w.check())).not.toContain("W201");
    w.replace("p.promise", 'file "${dir}/one"', 'file "/srv/app/one"');
    expect(codes(w.check())).not.toContain("W201");
    expect(w.kept.memos.get(w.folder)!.reused).toBe(1);
  });
});

/** An edit an author might make, anywhere in a file: text cut, a fragment typed. */
const edit = fc.record({
  file: fc.nat(),
  at: fc.nat(),
  cut: fc.integer({ min: 0, max: 16 }),
  text: fc.constantFrom("", "1", "x", "\n", "}", '"', "mdoe = 0640\n", "let unused = 1\n", "owner = nobody\n", "when = not month_end\n", "${", 'control "ITGC-AC-01" { title = "again" file "/x" { mode = 0600 } }\n', "context loop = loop\n", "stakeholder security {}\n", "// note\n"),
});

describe("random edits, one after another", () => {
  for (const source of [resolve("examples/sox"), resolve("policies/sox-itgc")]) {
    it(`${basename(source)}: after each edit, the same diagnostics and controls as a check from scratch`, () => {
      let reused = 0;
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
          const w = new Edited(source);
          w.check();
          const paths = [...w.texts.keys()];
          for (const e of edits) {
            const path = paths[e.file % paths.length]!;
            const text = w.texts.get(path)!;
            const at = e.at % (text.length + 1);
            w.edit(path, text.slice(0, at) + e.text + text.slice(at + e.cut));
            w.check();
          }
          reused += w.reused;
        }),
        { numRuns: 40 },
      );
      // the property holds trivially if no control was ever taken again
      expect(reused).toBeGreaterThan(100);
    }, 120_000);
  }
});

/** A control of promises on a few shared things (paths, globs over them, ports one by one or together), with or without conditions. */
const control = fc.record({
  when: fc.constantFrom("", "  when = hour < 20\n"),
  promises: fc.array(
    fc.oneof(
      fc.record({ path: fc.constantFrom('"/srv/a"', '"/srv/b"', '"/srv/*"', '"/srv/[ab]"'), mode: fc.constantFrom("0600", "0640"), when: fc.constantFrom("", " when = weekday == monday") }).map((p) => `  file ${p.path} { mode = ${p.mode}${p.when} }\n`),
      fc.record({ ports: fc.constantFrom("5432", "[5432, 1433]", "[1433, 5432, 5432]"), total: fc.constantFrom("100", "200") }).map((p) => `  connections ${p.ports} { max_total = ${p.total} }\n`),
    ),
    { minLength: 1, maxLength: 3 },
  ),
});
const controlText = (id: string, c: { when: string; promises: string[] }) => `control "${id}" {\n  title = "t"\n  owner = ops\n${c.when}${c.promises.join("")}}\n`;

describe("contradictions, found from the index kept between checks", () => {
  it("are those of a check from scratch, in its order, as controls are rewritten and moved", () => {
    let contradictions = 0;
    fc.assert(
      fc.property(fc.array(control, { minLength: 4, maxLength: 8 }), fc.array(fc.tuple(fc.nat(), fc.oneof(control.map((c) => ({ c })), fc.constant("shift" as const))), { minLength: 1, maxLength: 6 }), (controls, edits) => {
        const names = ["a.promise", "b.promise"];
        const texts = ["stakeholder ops\n", ""];
        controls.forEach((c, i) => (texts[i % 2] += controlText(`C-${i}`, c)));
        const w = new Edited({ [names[0]!]: texts[0]!, [names[1]!]: texts[1]! });
        w.check();
        for (const [at, e] of edits) {
          const i = at % controls.length;
          const name = names[i % 2]!;
          if (e === "shift") w.replace(name, /^/, "// a line above\n");
          else if (controlText("", e.c) === controlText("", controls[i]!)) continue;
          else w.replace(name, controlText(`C-${i}`, controls[i]!), controlText(`C-${i}`, (controls[i] = e.c)));
          contradictions += codes(w.check()).filter((c) => c === "E111").length;
        }
      }),
      { numRuns: 150, examples: [] },
    );
    expect(contradictions).toBeGreaterThan(100);
  });
});
