// apt.conf(5) as apt reads it: unit tests of the reader, a property that flat and nested
// spellings agree, and a cross-check against `apt-config dump` (what apt itself reads) on
// hand-written and random files, where apt is installed.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse, render } from "../../src/config-formats/apt.ts";
import { insertLine, removeLines, replaceValue } from "../../src/config-formats/edit.ts";
import { defaultFormatOptions, keyOf, spanText } from "../../src/config-formats/index.ts";
import { readConfig } from "../../src/probes/config-files.ts";

const read = (text: string) => parse(text, "/etc/apt/apt.conf.d/50test");
const pairs = (text: string) => read(text).settings.map((s) => [s.key, s.value]);

describe("apt format", () => {
  it("reads nested scopes and `::` paths as one key, in any case, the value without its quotes", () => {
    const text = 'APT { Get { AllowUnauthenticated "on"; }; };\napt::get::allowunauthenticated "yes";\nAPT::Get {\n  Assume-Yes "true";\n};\nAcquire::http::Proxy "http://p:3128/";\n';
    expect(pairs(text)).toEqual([
      ["apt::get::allowunauthenticated", "on"],
      ["apt::get::allowunauthenticated", "yes"],
      ["apt::get::assume-yes", "true"],
      ["acquire::http::proxy", "http://p:3128/"],
    ]);
    expect(read(text).settings[0]!.written).toBe("APT::Get::AllowUnauthenticated");
    expect(keyOf("apt", "APT::Get::AllowUnauthenticated")).toBe("apt::get::allowunauthenticated");
  });

  it("drops `//`, `#` and `/* */` comments, but not inside quotes, and joins quoted strings with one blank", () => {
    const text = [
      '// APT::Get::AllowUnauthenticated "true";',
      '# APT::Get::AllowUnauthenticated "true";',
      '/* APT::Get::AllowUnauthenticated "true";',
      '   still a comment */ A "1"; /* inline */ B "2"; // tail',
      'C "x;{//#/*" ; # tail',
      'D "a"   "b";',
      'E\t"t\tt";',
      "F plain-word;",
    ].join("\n");
    expect(pairs(text)).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["c", "x;{//#/*"],
      ["d", "a b"],
      ["e", "t        t"],
      ["f", "plain-word"],
    ]);
    // a plain word or a tag decodes `%xx` bytes as apt does; a quoted value is taken as written
    expect(pairs('K%C3%A9y v%41l😀;\nQ "%41";\n')).toEqual([
      ["k\u00e9y", "vAl😀"],
      ["q", "%41"],
    ]);
  });

  it("reads list items as the key with a trailing `::`, and a statement over several lines", () => {
    expect(pairs('DPkg::Pre-Invoke { "echo a"; "b;c"; };\nX::Y\n  "z"\n;\nL:: "1";\nl:: "2";\n')).toEqual([
      ["dpkg::pre-invoke::", "echo a"],
      ["dpkg::pre-invoke::", "b;c"],
      ["x::y", "z"],
      ["l::", "1"],
      ["l::", "2"],
    ]);
  });

  it("applies #clear to what was set before it, at the key and below it", () => {
    const text = 'A::B::C "1";\nA::B "2";\nA::BB "3";\n#clear a::b;\nA::B::D "4";\n#clear Z;\n#clear A::;\n';
    expect(pairs(text)).toEqual([
      ["a::bb", "3"],
      ["a::b::d", "4"],
    ]);
  });

  it("reports a syntax error where apt stops, keeping what was read before it, and never throws", () => {
    const cases: [string, number, RegExp][] = [
      ['A "1";\nB x y;\nC "3";\n', 2, /Extra junk after value/],
      ['A "1";\n{ B "2"; };\n', 2, /Block starts with no name/],
      ['A "1";\nS { #clear A; };\n', 2, /Directives can only be done at the top level/],
      ['A "1";\n#clearall A;\n', 2, /Unsupported directive 'clearall'/],
      // apt counts the empty line after the last newline
      ['A "1";\nB "2"\n', 3, /Extra junk at end of file/],
      ['A "1";\n#clear;\n', 2, /clear directive requires an option tree/],
    ];
    for (const [text, line, reason] of cases) {
      const p = read(text);
      expect(p.settings.map((s) => s.key), text).toEqual(["a"]);
      expect(p.skipped, text).toMatchObject([{ path: "/etc/apt/apt.conf.d/50test", line, reason: expect.stringMatching(reason) }]);
    }
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", ":", '"', ";", "{", "}", "#", "/", "*", " ", "\n", "\t", "%") }), (text) => {
        const p = read(text);
        expect(p.skipped.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });

  it("reads #include'd files and directories in place, as apt picks a directory's files", () => {
    const root = mkdtempSync(join(tmpdir(), "cvt-apt-"));
    mkdirSync(join(root, "etc/apt/parts"), { recursive: true });
    writeFileSync(join(root, "etc/apt/apt.conf"), 'A "main";\n#include /etc/apt/extra.conf;\n#include /etc/apt/parts/;\n#include relative.conf;\nZ "end";\n');
    writeFileSync(join(root, "etc/apt/extra.conf"), 'A "extra";\n');
    for (const name of ["20b", "10a.conf", "30c.disabled", ".hidden.conf", "40d.conf.", "50e~", "60f.conf"]) writeFileSync(join(root, "etc/apt/parts", name), `P:: "${name}";\n`);
    const r = readConfig("/etc/apt/apt.conf", "apt", defaultFormatOptions, (p) => join(root, p));
    if ("error" in r) throw new Error(r.error);
    expect(r.files.map((f) => f.path)).toEqual(["/etc/apt/apt.conf", "/etc/apt/extra.conf", "/etc/apt/parts/10a.conf", "/etc/apt/parts/20b", "/etc/apt/parts/60f.conf"]);
    expect(r.settings.map((s) => `${s.key}=${s.value}`)).toEqual(["a=main", "a=extra", "p::=10a.conf", "p::=20b", "p::=60f.conf", "z=end"]);
    expect(r.skipped).toMatchObject([{ line: 4, reason: expect.stringMatching(/relative/) }]);
  });

  it("edits only a top-level setting alone on its line: its value in place, or the line taken out", () => {
    const text = 'APT::Get::AllowUnauthenticated "true";\r\nA "1"; B "2";\nS { K "v"; };\nU\t yes ;\n';
    const [allow, a, b, k, u] = read(text).settings;
    expect([allow!.fixed, a!.fixed, b!.fixed, k!.fixed, u!.fixed]).toEqual([undefined, true, true, true, undefined]);
    expect(replaceValue(text, allow!, spanText("apt", allow!, "false"))).toBe('APT::Get::AllowUnauthenticated "false";\r\nA "1"; B "2";\nS { K "v"; };\nU\t yes ;\n');
    expect(replaceValue(text, u!, spanText("apt", u!, "no"))).toBe('APT::Get::AllowUnauthenticated "true";\r\nA "1"; B "2";\nS { K "v"; };\nU\t "no" ;\n');
    expect(removeLines(text, [allow!.line])).toBe('A "1"; B "2";\nS { K "v"; };\nU\t yes ;\n');
    const added = insertLine(text, render("APT::Get::AllowInsecureRepositories", "false"));
    // a file with CRLF lines gets a CRLF line
    expect(added.endsWith('\nAPT::Get::AllowInsecureRepositories "false";\r\n')).toBe(true);
    expect(read(added).settings.at(-1)).toMatchObject({ key: "apt::get::allowinsecurerepositories", value: "false" });
    // a line a multi-line comment opens or closes on is never taken out
    expect(read('A "1"; /* open\nclose */ B "2";\n').settings.map((s) => s.fixed)).toEqual([true, true]);
  });

  it("on arbitrary text: never throws, and an edited setting's new value reads back with every other line kept", () => {
    const piece = fc.constantFrom("A::B", "apt::Get", "x", " ", "\t", '"', '"v"', '"a;b"', ";", "{", "}", "//", "#", "/*", "*/", "#clear A", "\r", "%41", "[", "]");
    const junk = fc.array(piece, { maxLength: 7 }).map((a) => a.join(""));
    const setting = fc.tuple(fc.constantFrom("A::B", "apt::Get::X", "C"), fc.constantFrom(" ", "\t", "  "), fc.constantFrom('"v"', "w", '"a" "b"', '"x;{"'), fc.constantFrom("", " // c", " # c", " /* c */", "\r")).map(([k, sp, v, tail]) => `${k}${sp}${v};${tail}`);
    const text = fc.array(fc.oneof(junk, setting), { maxLength: 10 }).map((ls) => ls.join("\n"));
    let edited = 0;
    fc.assert(
      fc.property(text, fc.constantFrom("no", "90", "a b", "/etc/x;y"), (t, value) => {
        const settings = read(t).settings;
        const lines = t.split("\n");
        for (const s of settings) expect(s.valueEnd).toBeLessThanOrEqual(lines[s.line - 1]!.length);
        const s = settings.find((x) => !x.fixed);
        if (!s) return;
        edited++;
        const after = replaceValue(t, s, spanText("apt", s, value)).split("\n");
        after.forEach((l, i) => {
          if (i !== s.line - 1) expect(l).toBe(lines[i]);
        });
        const again = read(after.join("\n")).settings.filter((x) => x.line === s.line);
        expect(again.map((x) => [x.key, x.value])).toEqual([[s.key, value]]);
        // the line taken out: every other setting as it was
        const others = (p: typeof settings) => p.filter((x) => x !== s).map((x) => [x.key, x.value]);
        expect(read(removeLines(t, [s.line])).settings.map((x) => [x.key, x.value])).toEqual(others(settings));
      }),
      { numRuns: 1000 },
    );
    expect(edited).toBeGreaterThan(50);
  });

  it("reads a long line in time linear in its length (the text may be an attacker's)", () => {
    // guards against time quadratic in a line's length: each `//`, `#` or `/*` inside quotes once
    // made the reader count the quotes before it from the start of the line again
    const lineOf = (mark: string, size: number) => `A "${mark.repeat(size / mark.length)}";\n`;
    const fastest = (text: string) => {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const settings = read(text).settings;
        best = Math.min(best, performance.now() - t0);
        expect(settings).toHaveLength(1);
      }
      return best;
    };
    const mib = 1 << 20;
    for (const mark of ["/", "#", "/*", "/* */"]) {
      const big = fastest(lineOf(mark, mib));
      // generous: about 0.3 s here; the quadratic reader took minutes on a line this long
      expect(big).toBeLessThan(2000);
      // four times the text: about four times the time (quadratic would be sixteen)
      expect(big / fastest(lineOf(mark, mib / 4))).toBeLessThan(8);
    }
    expect(read(lineOf("/", mib)).settings[0]!.value).toBe("/".repeat(mib));
    // and many comments on one line, each cut out
    expect(pairs(`A "1"; ${"/* x */ ".repeat(mib / 8)}B "2";\n`)).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  }, 60_000);

  it("reads a setting spelled flat, nested or half nested, in any case, as the same key and value", () => {
    const segment = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,7}$/);
    const value = fc.stringMatching(/^[^"\n\r]{0,12}$/);
    const flip = (s: string, bits: number) => [...s].map((c, i) => ((bits >> i % 30) & 1 ? c.toUpperCase() : c.toLowerCase())).join("");
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), value, fc.integer({ min: 0, max: 5 }), fc.nat(), (path, v, cut, bits) => {
        const at = Math.min(cut, path.length - 1);
        const flat = `${path.join("::")} "${v}";`;
        const outer = path.slice(0, at);
        const inner = path.slice(at);
        const nested = `${outer.map((p) => `${flip(p, bits)} {`).join("\n")}\n${inner.join("::")} "${v}";\n${outer.map(() => "};").join(" ")}`;
        const a = read(flat).settings;
        const b = read(nested).settings;
        expect(b.map((s) => [s.key, s.value])).toEqual(a.map((s) => [s.key, s.value]));
        expect(a).toMatchObject([{ key: keyOf("apt", path.join("::")), value: v.replace(/\t/g, "        ") }]);
      }),
      { numRuns: 300 },
    );
  });
});

// ---- what apt itself reads: `apt-config -c FILE dump`, with APT_CONFIG naming an empty file
// so that no file of this host's but the defaults compiled into apt are read ----

const aptConfig = ["/usr/bin/apt-config"].find(existsSync);
const work = mkdtempSync(join(tmpdir(), "cvt-apt-live-"));
const empty = join(work, "apt.conf");
// read first: it points apt.conf.d and apt.conf away, to an empty directory and a file that is not there
mkdirSync(join(work, "parts"));
writeFileSync(empty, `Dir::Etc::parts "${join(work, "parts")}/";\nDir::Etc::main "${join(work, "none.conf")}";\n`);

/** apt's %V: the value with `%` and control and non-ASCII bytes written `%xx`; decoded as bytes, then UTF-8 (U+FFFD for what is not). */
function aptUnescape(v: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (v[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(v.slice(i + 1, i + 3))) {
      bytes.push(parseInt(v.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(v[i]!, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

function aptDump(file?: string): { ok: true; entries: [string, string][] } | { ok: false; error: string } {
  // each value escaped (%V), one entry a line: a value apt decoded to a newline (`"%0a"`) cannot split its entry
  const args = [...(file ? ["-c", file] : []), "dump", "--format", "%f\t%V%n"];
  try {
    const out = execFileSync(aptConfig!, args, { env: { PATH: "/usr/bin:/bin", APT_CONFIG: empty, LC_ALL: "C" }, stdio: ["ignore", "pipe", "pipe"] }).toString();
    const entries = out
      .split("\n")
      .filter((l) => l !== "")
      .map((l): [string, string] => {
        const at = l.indexOf("\t");
        return [l.slice(0, at), aptUnescape(l.slice(at + 1))];
      });
    return { ok: true, entries };
  } catch (err) {
    return { ok: false, error: String((err as { stderr?: Buffer }).stderr ?? err) };
  }
}

const isList = (key: string) => key === "" || key.endsWith("::");

/** The settings as a tree of apt's holds them: the last value of each key (empty values dropped, as apt shows a bare scope), and each list's items in order. */
function view(entries: [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of entries) {
    const key = k.toLowerCase();
    if (isList(key)) ((out[key] ??= []) as string[]).push(v);
    else out[key] = v;
  }
  for (const [k, v] of Object.entries(out)) if (v === "") delete out[k];
  return out;
}

let baseline: Set<string> | undefined;
/** What apt reads from `text` beyond its own defaults. */
function aptReads(text: string): { ok: true; view: Record<string, string | string[]> } | { ok: false; error: string } {
  if (!baseline) {
    const b = aptDump();
    if (!b.ok) throw new Error(b.error);
    baseline = new Set(b.entries.map(([k, v]) => `${k.toLowerCase()}\0${v}`));
  }
  const file = join(work, "test.conf");
  writeFileSync(file, text);
  const d = aptDump(file);
  if (!d.ok) return d;
  const own = d.entries.filter(([k, v]) => !k.startsWith("CommandLine::") && !k.startsWith("Dir::Etc::") && !baseline!.has(`${k.toLowerCase()}\0${v}`));
  return { ok: true, view: view(own) };
}

const ours = (text: string) => {
  const p = parse(text, join(work, "test.conf"));
  return { view: view(p.settings.map((s) => [s.key, s.value])), skipped: p.skipped };
};

describe.skipIf(!aptConfig)("apt format against apt-config dump", () => {
  it("reads hand-written files as apt does", () => {
    const texts = [
      'APT { Get { AllowUnauthenticated "on"; }; };\napt::get::allowunauthenticated "yes";\n',
      'Cv { "a"; "b;{//"; };\nCw "x" { Inner "1"; };\nV\t"a\tb" "c";\nPct%41b "q";\nUnq value;\n#clear Cw::Inner;\nMulti\n "v";\n',
      '/* x\n y */ A "1"; // c\n# c\nB "a#b" /* c */ ; C "2";/* x\n*/ D "3";\n',
      'S { T { U "1"; }; V "2"; }; S::T::W "3";\n#clear S::T;\nS::T::X "4";\n',
      'L:: "1"; L:: "2"; l { "3"; };\n',
      'A [x y] ;\n"Q" "v";\n',
    ];
    for (const text of texts) {
      const apt = aptReads(text);
      expect(apt.ok, text).toBe(true);
      if (!apt.ok) continue;
      const o = ours(text);
      expect(o.skipped, text).toEqual([]);
      expect(o.view, text).toEqual(apt.view);
    }
  });

  it("stops at the line and with the error apt reports", () => {
    const texts = ['A "1";\nB x y;\n', 'A "1";\n{ B "2"; };\n', 'A "1";\nS { #clear A; };\n', 'A "1";\n#clearall A;\n', 'A "1";\nB "2"\n', 'A "1";\n#clear;\n', 'A "1";\nB "x" z;\n'];
    for (const text of texts) {
      const apt = aptReads(text);
      expect(apt.ok, text).toBe(false);
      if (apt.ok) continue;
      const m = /Syntax error [^:]+:(\d+): (.*)/.exec(apt.error);
      expect(m, apt.error).not.toBeNull();
      const o = ours(text);
      expect(o.skipped, text).toMatchObject([{ line: Number(m![1]) }]);
      expect(o.skipped[0]!.reason).toContain(m![2]!.trim());
    }
  });

  it("reads random files as apt does", () => {
    const name = fc.constantFrom("Cv", "cV", "Alpha", "ALPHA", "beta", "Gamma-1", "d_2", "e.3");
    const path = fc.array(name, { minLength: 1, maxLength: 3 }).map((p) => p.join("::"));
    const quoted = fc.stringMatching(/^[A-Za-z0-9 \t;{}/#*:.,%-]{0,10}$/).map((v) => `"${v}"`);
    const plain = fc.stringMatching(/^[A-Za-z0-9_.:/%-]{1,8}$/);
    const value = fc.oneof(quoted, plain, fc.tuple(quoted, quoted).map(([a, b]) => `${a} ${b}`));
    const sep = fc.constantFrom(" ", "  ", "\t", "\n", " \n ");
    const comment = fc.constantFrom("// note\n", "# note\n", "/* c */", "/* multi\n line */", "");
    const setting = fc.tuple(path, sep, value, sep).map(([k, s, v, t]) => `${k}${s}${v}${t};`);
    const list = fc.oneof(
      fc.tuple(path, fc.array(quoted, { maxLength: 3 })).map(([k, items]) => `${k} { ${items.map((i) => `${i};`).join(" ")} };`),
      fc.tuple(path, quoted).map(([k, v]) => `${k}:: ${v};`),
    );
    const statement: fc.Memo<string> = fc.memo((depth) =>
      depth <= 1
        ? fc.oneof({ weight: 4, arbitrary: setting }, { weight: 1, arbitrary: list })
        : fc.oneof(
            { weight: 4, arbitrary: setting },
            { weight: 1, arbitrary: list },
            { weight: 1, arbitrary: fc.tuple(path, fc.option(quoted, { nil: "" }), sep, fc.array(statement(depth - 1), { maxLength: 3 }), sep).map(([k, v, s, body, t]) => `${k} ${v}${s}{${s}${body.join(s)}${t}};`) },
          ),
    );
    const top = fc.oneof({ weight: 5, arbitrary: statement(3) }, { weight: 1, arbitrary: path.map((k) => `#clear ${k};`) });
    const file = fc.array(fc.tuple(top, comment, sep), { minLength: 1, maxLength: 8 }).map((parts) => parts.map(([s, c, t]) => `${s}${t}${c}${c.endsWith("\n") ? "" : "\n"}`).join(""));
    const seen = { read: 0, refused: 0 };
    fc.assert(
      fc.property(file, (text) => {
        const apt = aptReads(text);
        const o = ours(text);
        if (!apt.ok) {
          seen.refused++;
          const line = /Syntax error [^:]+:(\d+):/.exec(apt.error)?.[1];
          expect(o.skipped, `${text}\n${apt.error}`).toMatchObject([{ line: Number(line) }]);
          return;
        }
        if (Object.keys(apt.view).length > 0) seen.read++;
        expect(o.skipped, text).toEqual([]);
        expect(o.view, text).toEqual(apt.view);
      }),
      { numRuns: 150 },
    );
    // the files are mostly ones apt reads settings from, so that the comparison says something
    expect(seen.read).toBeGreaterThan(100);
  }, 120_000);
});
