// INI files: sections, `key = value`, `#` and `;` comments.
import { describe, expect, it } from "vitest";
import { iniKey, parse } from "../../src/config-formats/ini.ts";

describe("ini format", () => {
  it("keys settings by section and name, and knows where each section ends", () => {
    const p = parse("top = 1\n# c\n[Journal]\nStorage=volatile\n; x=y\n\n[ Other ]\nKey = a b\n[Journal]\nCompress=no\n", "/f");
    expect(p.settings.map((s) => [s.key, s.value, s.line])).toEqual([
      [iniKey("", "top"), "1", 1],
      [iniKey("Journal", "Storage"), "volatile", 4],
      [iniKey("Other", "Key"), "a b", 8],
      [iniKey("Journal", "Compress"), "no", 10],
    ]);
    expect(p.sections).toEqual({ "": 2, Journal: 11, Other: 9 });
  });
});
