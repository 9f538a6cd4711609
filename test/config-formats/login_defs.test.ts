// login.defs as shadow-utils reads it (getdef.c).
import { describe, expect, it } from "vitest";
import { parse } from "../../src/config-formats/login_defs.ts";

describe("login_defs format", () => {
  it("reads a name and the rest of the line, without quotes, skipping comments; later lines win", () => {
    const p = parse('# c\n  #PASS_MAX_DAYS 90\nPASS_MAX_DAYS\t99999\nENCRYPT_METHOD "SHA512"\nENV_PATH PATH=/usr/bin:/bin  \nUMASK 022\r\nPASS_MAX_DAYS 60\nLONE\n');
    expect(p.settings.map((s) => [s.key, s.value, s.line])).toEqual([
      ["PASS_MAX_DAYS", "99999", 3],
      ["ENCRYPT_METHOD", "SHA512", 4],
      ["ENV_PATH", "PATH=/usr/bin:/bin", 5],
      ["UMASK", "022", 6],
      ["PASS_MAX_DAYS", "60", 7],
      ["LONE", "", 8],
    ]);
  });

  it("takes a value with blanks between quotes whole, and ends it at the closing quote", () => {
    expect(parse('KEY "a b"\n').settings[0]!.value).toBe("a b");
    expect(parse('KEY "a" trailing\n').settings[0]!.value).toBe("a");
  });
});
