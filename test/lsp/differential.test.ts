// The server's diagnostics are `covenant check`'s: over the examples, the policy library, fixtures
// with errors of every kind (syntax, names, duplicates across files, contradictions, covenant.yaml
// against the policy), and policies mutated as an author's typing mutates them, each edit sent to
// a running server (so that its cache of parses is what is tested) and checked on disk by the CLI.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileUri } from "../../bench/lsp/client.mjs";
import { ensureBuilt } from "../helpers/cli.js";
import { byUri, checkSays, policyFiles, serverSays, startServer } from "./lsp-helpers.js";

beforeAll(() => ensureBuilt());

const fixture = (name: string) => resolve("test/lsp/fixtures", name);

const folders: { name: string; folder: string; config?: string; clean?: boolean }[] = [
  { name: "examples/sox with its covenant.yaml (clean: the server says nothing either)", folder: resolve("examples/sox"), config: "covenant.yaml", clean: true },
  { name: "examples/sox, covenant.yaml found where check looks", folder: resolve("examples/sox") },
  { name: "examples/plugins", folder: resolve("examples/plugins") },
  { name: "policies/sox-itgc", folder: resolve("policies/sox-itgc") },
  { name: "a policy with errors in two files", folder: fixture("broken-policy") },
  { name: "promises that contradict across files", folder: fixture("contradicting-promises") },
  { name: "a covenant.yaml that does not reach the policy's stakeholders", folder: fixture("unreachable-stakeholder"), config: "covenant.yaml" },
];

describe("the server's diagnostics are check's", () => {
  for (const { name, folder, config, clean } of folders) {
    it(name, async () => {
      const expected = checkSays(folder, config ? ["--config", config] : []);
      expect(expected.size === 0, "the case is as clean as it should be").toBe(clean === true);
      const client = await startServer(folder, config ? { config } : {});
      try {
        const first = policyFiles(folder)[0]!;
        await client.open(fileUri(first), readFileSync(first, "utf8"));
        await client.settled(fileUri(first), 1);
        expect(byUri(serverSays(client))).toEqual(byUri(expected));
      } finally {
        expect(await client.close()).toBe(0);
      }
    }, 60_000);
  }
});

/** An edit an author might make: text cut out, a fragment typed, a line repeated, a name misspelt. */
const edit = fc.oneof(
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 24 }) }),
  fc.record({ kind: fc.constant("type" as const), at: fc.nat(), text: fc.constantFrom("}", "{", "\n", '"', "mdoe = 0640\n", "let unused = 1\n", 'control "ITGC-AC-01" { title = "again" file "/x" { mode = 0600 } }\n', "owner = nobody\n", "when = not month_end\n", "${", "-> [ghost]", "0999", "import \"missing.promise\"\n", "stakeholder security {}\n", "context loop = loop\n") }),
  fc.record({ kind: fc.constant("repeat-line" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("misspell" as const), at: fc.nat() }),
);
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function apply(text: string, e: Edit): string {
  const at = text.length === 0 ? 0 : e.at % text.length;
  switch (e.kind) {
    case "cut":
      return text.slice(0, at) + text.slice(at + e.length);
    case "type":
      return text.slice(0, at) + e.text + text.slice(at);
    case "repeat-line": {
      const start = text.lastIndexOf("\n", at - 1) + 1;
      const end = text.indexOf("\n", at);
      const line = text.slice(start, end === -1 ? text.length : end + 1);
      return text.slice(0, start) + line + text.slice(start);
    }
    case "misspell": {
      // swap two letters of the word at `at`
      const m = /[a-z]{3,}/g;
      m.lastIndex = at;
      const w = m.exec(text) ?? /[a-z]{3,}/.exec(text);
      if (!w) return text;
      const i = w.index + 1;
      return text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2);
    }
  }
}

/** The edit that turns `before` into `after`, as one range (from the first difference to the last) and its new text. */
function rangeEdit(before: string, after: string) {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let tail = 0;
  while (tail < before.length - start && tail < after.length - start && before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail++;
  const position = (offset: number) => {
    const lines = before.slice(0, offset).split("\n");
    return { line: lines.length - 1, character: lines.at(-1)!.length };
  };
  return { range: { start: position(start), end: position(before.length - tail) }, text: after.slice(start, after.length - tail) };
}

describe("mutated policies, edited in a running server", () => {
  const sources = [resolve("examples/sox"), resolve("policies/sox-itgc")];
  const work: string[] = [];
  afterAll(() => {
    for (const w of work) rmSync(w, { recursive: true, force: true });
  });
  for (const source of sources) {
    it(`${basename(source)}: after each edit the server says what check says of the file on disk`, async () => {
      const folder = mkdtempSync(join(tmpdir(), "covenant-lsp-diff-"));
      work.push(folder);
      for (const f of policyFiles(source)) copyFileSync(f, join(folder, basename(f)));
      const files = policyFiles(folder);
      const client = await startServer(folder);
      const originals = new Map(files.map((f) => [f, readFileSync(f, "utf8")]));
      try {
        for (const f of files) await client.open(fileUri(f), originals.get(f)!);
        await fc.assert(
          fc.asyncProperty(fc.nat({ max: files.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 3 }), async (which, edits) => {
            const path = files[which]!;
            const text = edits.reduce(apply, originals.get(path)!);
            writeFileSync(path, text);
            try {
              // as an editor sends it: the range that changed, so that the server re-parses only what it touched
              const version = client.change(fileUri(path), [rangeEdit(originals.get(path)!, text)]);
              await client.settled(fileUri(path), version);
              expect(byUri(serverSays(client))).toEqual(byUri(checkSays(folder)));
            } finally {
              // back to the original, on disk and in the editor, before the next case
              writeFileSync(path, originals.get(path)!);
              const back = client.change(fileUri(path), [rangeEdit(text, originals.get(path)!)]);
              await client.settled(fileUri(path), back);
            }
          }),
          { numRuns: 15 },
        );
      } finally {
        expect(await client.close()).toBe(0);
      }
    }, 180_000);
  }
});

describe("edits that make and unmake whole-policy problems, one after another in a running server", () => {
  it("a duplicate id, a contradiction across files, a variable renamed under its uses: each time what check says", async () => {
    const folder = mkdtempSync(join(tmpdir(), "covenant-lsp-steps-"));
    try {
      // examples/sox, and beside it the two files of a contradiction across files
      for (const f of policyFiles(resolve("examples/sox"))) copyFileSync(f, join(folder, basename(f)));
      for (const f of policyFiles(fixture("contradicting-promises"))) copyFileSync(f, join(folder, `contra-${basename(f)}`));
      const client = await startServer(folder);
      const texts = new Map(policyFiles(folder).map((f) => [f, readFileSync(f, "utf8")]));
      try {
        for (const [f, text] of texts) await client.open(fileUri(f), text);
        const codes = new Set<string>();
        const step = async (name: string, find: string | RegExp, by: string) => {
          const path = join(folder, name);
          const before = texts.get(path)!;
          const after = before.replace(find, by);
          expect(after).not.toBe(before);
          texts.set(path, after);
          writeFileSync(path, after);
          await client.settled(fileUri(path), client.change(fileUri(path), [rangeEdit(before, after)]));
          const expected = checkSays(folder);
          expect(byUri(serverSays(client))).toEqual(byUri(expected));
          for (const list of expected.values()) for (const d of list) codes.add(d.code);
        };
        const twin = '\ncontrol "ITGC-CM-02" {\n  title = "again"\n  owner = compliance\n  file "/x" { mode = 0600 }\n}\n';
        await step("access.promise", /$/, twin);
        await step("contra-hardening.promise", "mode = 0600", "mode = 0640");
        await step("contra-hardening.promise", "mode = 0640", "mode = 0600");
        await step("common.promise", "let ledger_dir ", "let ledger_root ");
        await step("access.promise", twin, "");
        await step("common.promise", "let ledger_root ", "let ledger_dir ");
        // the steps made each problem at least once
        for (const code of ["E108", "E111", "W201"]) expect(codes).toContain(code);
      } finally {
        expect(await client.close()).toBe(0);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);
});
