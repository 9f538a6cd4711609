// The edits a config repair makes, on any text: every line but the one edited stays byte for byte.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { insertLine, removeLines, replaceValue } from "../../src/config-formats/edit.ts";
import * as ini from "../../src/config-formats/ini.ts";
import * as keyValue from "../../src/config-formats/key_value.ts";
import * as loginDefs from "../../src/config-formats/login_defs.ts";
import * as pam from "../../src/config-formats/pam.ts";
import * as sshd from "../../src/config-formats/sshd.ts";
import * as sudoers from "../../src/config-formats/sudoers.ts";
import * as sysctl from "../../src/config-formats/sysctl.ts";
import { spanText } from "../../src/config-formats/index.ts";
import type { ParsedConfig } from "../../src/config-formats/setting.ts";

// lines of configuration-like text: keywords, blanks, `=`, quotes, comments, CRs, and anything else
const piece = fc.constantFrom("auth ", "required ", "pam_unix.so ", "[", "]", "Defaults ", ",", "!", "\\", "Key", "key", "PermitRootLogin", "UMASK", "net.ipv4.ip_forward", " ", "\t", "=", '"', "#", ";", "-", "\r", "yes", "027", "Match", "Include", "x y");
const line = fc.oneof(fc.array(piece, { maxLength: 6 }).map((a) => a.join("")), fc.string({ maxLength: 20 }));
const text = fc.array(line, { maxLength: 12 }).map((ls) => ls.join("\n"));

// each format with a line it reads as a setting: arbitrary text around it (or alone) keeps the
// edit property from skipping most cases (random text seldom holds a sudoers `Defaults` setting)
const parsers: [string, (t: string) => ParsedConfig, string][] = [
  ["sshd", (t) => sshd.parse(t, "/f"), "PermitRootLogin yes"],
  ["login_defs", (t) => loginDefs.parse(t), "UMASK 022"],
  ["key_value", (t) => keyValue.parse(t, "/f", { separator: "=", comments: ["#"] }), "Key=yes"],
  ["key_value (blanks)", (t) => keyValue.parse(t, "/f", { separator: " ", comments: ["//"] }), "Key yes"],
  ["sysctl", (t) => sysctl.parse(t, "/f"), "net.ipv4.ip_forward = 1"],
  ["sudoers", (t) => sudoers.parse(t, "/etc/sudoers"), "Defaults umask=022"],
  ["ini", (t) => ini.parse(t, "/f"), "key = yes"],
  ["pam", (t) => pam.parse(t, "/etc/pam.d/f"), "auth required pam_unix.so"],
];

/** Arbitrary text, or arbitrary text around a line the format reads as a setting. */
const textWith = (setting: string) => fc.oneof(text, fc.tuple(text, text).map(([a, b]) => [a, setting, b].join("\n")));

describe("config formats on arbitrary text", () => {
  for (const [name, parse, setting] of parsers) {
    it(`${name}: never throws, and each value lies where the setting says`, () => {
      fc.assert(
        fc.property(text, (t) => {
          const lines = t.split("\n");
          for (const s of parse(t).settings) {
            const l = lines[s.line - 1]!;
            expect(s.valueStart).toBeLessThanOrEqual(s.valueEnd);
            expect(s.valueEnd).toBeLessThanOrEqual(l.length);
          }
        }),
      );
    });

    it(`${name}: setting a value changes that line alone, and the new value reads back`, () => {
      fc.assert(
        fc.property(textWith(setting), fc.constantFrom("no", "90", "027", "/etc/issue.net"), (t, value) => {
          const settings = parse(t).settings;
          fc.pre(settings.length > 0);
          const s = settings.find((x) => !x.fixed);
          fc.pre(s !== undefined);
          if (!s) return;
          // libpam ends a `[...]` control at its `]`, blank or not: a plain value there would run into the module (a repair re-reads its edit and refuses it)
          if (name === "pam") fc.pre(!/[^ \t\r]/.test(t.split("\n")[s.line - 1]![s.valueEnd] ?? " "));
          const edited = replaceValue(t, s, name === "sudoers" || name === "pam" ? spanText(name, s, value) : value);
          const before = t.split("\n");
          const after = edited.split("\n");
          expect(after.length).toBe(before.length);
          after.forEach((l, i) => {
            if (i !== s.line - 1) expect(l).toBe(before[i]);
          });
          // the same entry of the line (a sudoers Defaults line holds several)
          const nth = settings.filter((x) => x.line === s.line).indexOf(s);
          const again = parse(edited).settings.filter((x) => x.line === s.line)[nth];
          expect(again?.key).toBe(s.key);
          expect(again?.value).toBe(value);
        }),
      );
    });
  }

  it("removing lines keeps every other line, in order", () => {
    fc.assert(
      fc.property(text, fc.array(fc.nat(14), { maxLength: 4 }), (t, drop) => {
        const numbers = drop.map((n) => n + 1);
        const kept = t.split("\n").filter((_, i) => !numbers.includes(i + 1));
        expect(removeLines(t, numbers).split("\n")).toEqual(numbers.length === 0 || kept.length === 0 ? (numbers.length === 0 ? t.split("\n") : [""]) : kept);
      }),
    );
  });

  it("adding a line keeps every other byte and ends it with a newline", () => {
    fc.assert(
      fc.property(text, fc.option(fc.nat(14), { nil: undefined }), (t, before) => {
        const edited = insertLine(t, "Added yes", before === undefined ? undefined : before + 1);
        const lineCount = t.split("\n").length;
        if (before !== undefined && before + 1 <= lineCount) {
          // inserted before an existing line: taking the new line out gives the text back, byte for byte
          const added = /Added yes\r?\n/.exec(edited);
          expect(added).not.toBeNull();
          expect(edited.slice(0, added!.index) + edited.slice(added!.index + added![0].length)).toBe(t);
        } else {
          // appended: the text is kept whole, ended with a newline if it was not, then the new line
          expect(edited.startsWith(t)).toBe(true);
          const tail = edited.slice(t.length);
          expect(tail).toMatch(t === "" || t.endsWith("\n") ? /^Added yes\r?\n$/ : /^\r?\nAdded yes\r?\n$/);
        }
      }),
    );
  });

  it("keeps a last line that is a lone carriage return (a counterexample fast-check found)", () => {
    expect(insertLine("\r", "Added yes")).toBe("\r\nAdded yes\n");
  });

  it("keeps CRLF line ends on the line it adds to a CRLF file", () => {
    expect(insertLine("A 1\r\nMatch all\r\n", "B 2", 2)).toBe("A 1\r\nB 2\r\nMatch all\r\n");
    expect(insertLine("A 1", "B 2")).toBe("A 1\nB 2\n");
    expect(insertLine("", "B 2")).toBe("B 2\n");
  });
});
