import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { approvedCopyOf } from "../../src/integrity/approved-copy.ts";
import { unifiedDiff } from "../../src/integrity/diff.ts";
import { DEFAULT_SECRET_PATTERNS, isSecretName, linearPattern, MASK, maskArgv, maskedCommandLine, masker, privateKeyLines } from "../../src/integrity/mask.ts";

const line = (text: string) => masker().line(text).text;

describe("masking a line", () => {
  it("masks the value of a key that names a secret, in the forms configuration files use", () => {
    const cases: [string, string][] = [
      ["password = hunter2", "password = ****"],
      ["  db_password: 'hunter2' # old", "  db_password: ****"],
      ['{"user": "app", "password": "hunter2", "port": 5432}', '{"user": "app", "password": ****'],
      ["export PGPASSWORD=hunter2", "export PGPASSWORD=****"],
      ["MYSQL_PWD=hunter2", "MYSQL_PWD=****"],
      ["db.pass => 'hunter2'", "db.pass => ****"],
      ["client_secret=abc123", "client_secret=****"],
      ["apiKey: abc123", "apiKey: ****"],
      ["aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key = ****"],
      ["Authorization: Bearer abcdefgh12345678", "Authorization: ****"],
      ["requirepass foobared", "requirepass ****"],
      ["machine example.com login app password hunter2", "machine example.com login app password ****"],
      ["rootpw {SSHA}abcdefgh", "rootpw ****"],
      ["<password>hunter2</password>", "<password>****</password>"],
      ["url = postgres://app:hunter2@db:5432/ledger", "url = postgres://app:****@db:5432/ledger"],
      ["curl -H 'X: Bearer abcdefgh12345678' https://x", "curl -H 'X: Bearer ****' https://x"],
      ["requirepass =S3cret", "requirepass ****"],
      ["key_id AKIAIOSFODNN7EXAMPLE in use", "key_id **** in use"],
      ["gh ghp_0123456789abcdefghij0123456789abcdef", "gh ****"],
      ["slack xoxb-1234567890-abcdef", "slack ****"],
      ["jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature", "jwt ****"],
      ['"key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----"', '"key": "-----BEGIN PRIVATE KEY-----****-----END PRIVATE KEY-----"'],
    ];
    for (const [given, shown] of cases) expect(line(given), given).toBe(shown);
  });

  it("leaves alone keys and words that only look like secrets", () => {
    for (const text of ["PasswordAuthentication yes", "PermitEmptyPasswords no", "bypass = 1", "passive = true", "cwd = /srv", "user = app", "Basic setup", "port: 5432", "password =", "# the password is rotated monthly"]) {
      expect(line(text), text).toBe(text === "# the password is rotated monthly" ? "# the password ****" : text);
    }
  });

  it("tells which names are secret: long words anywhere, short ones as a whole part", () => {
    expect(["PGPASSWORD", "db_pass", "MYSQL_PWD", "pw", "authToken", "api-key", "client_secret", "storepass", "passin"].filter((n) => !isSecretName(n))).toEqual([]);
    expect(["passive", "bypass", "cwd", "user", "port", "key", "compass", "author", "oauth_enabled"].filter(isSecretName)).toEqual([]);
    expect(["auth", "basic_auth", "Set-Cookie", "Authorization"].filter((n) => !isSecretName(n))).toEqual([]);
  });

  it("merges overlapping matches before masking, so none leaves part of a secret", () => {
    const m = masker([/pass=(?<secret>\w+)/, /(?<secret>X{3}\w+)/]);
    expect(m.line("pass=abXXXcdef and XXXtail").text).toBe("pass=**** and ****");
  });

  it("uses the patterns given instead of the defaults, any flags", () => {
    const m = masker([/pin (?<secret>\d+)/i]);
    expect(m.line("PIN 1234, password = x")).toEqual({ text: "PIN ****, password = x", masked: true });
    expect(m.line("nothing")).toEqual({ text: "nothing", masked: false });
  });

  it("takes time linear in the line, whatever the line (no backtracking blow-up)", () => {
    const m = masker();
    for (const bad of ["password".repeat(512), "pass_".repeat(800), "a".repeat(4096), "-----BEGIN RSA PRIVATE KEY-----".repeat(130), "<password".repeat(450), "x://a:".repeat(680), "Bearer ".repeat(580), " secret".repeat(580), `${"-".repeat(4000)}=`, "password=\r".repeat(400), " secret\u2028".repeat(500), "-----BEGIN RSA PRIVATE KEY-----x-----END".repeat(100)]) {
      const t = performance.now();
      m.line(bad);
      expect(performance.now() - t, bad.slice(0, 30)).toBeLessThan(100);
    }
    // longer than a diff's lines (4,096 characters), where a quadratic pattern shows: a URL's scheme run with no `://`
    for (const bad of [`password = ${"a".repeat(40000)}`, `password = ${"a1".repeat(20000)}`]) {
      const t = performance.now();
      m.line(bad);
      expect(performance.now() - t, bad.slice(0, 30)).toBeLessThan(100);
    }
  });

  it("finds a URL's password wherever its scheme's run of characters starts", () => {
    for (const [line, shown] of <[string, string][]>[
      ["1a2+http://u:pw@h", "1a2+http://u:****@h"],
      ["x=1http://u:pw@h", "x=1http://u:****@h"],
      ["a://b://u:pw@h", "a://b://u:****@h"],
      ["123://u:pw@h", "123://u:pw@h"],
    ]) expect(masker().line(line).text).toBe(shown);
  });
});

describe("private key blocks", () => {
  it("masks every line between BEGIN and END, and to the end when the block never closes", () => {
    const lines = ["a", "-----BEGIN OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXk", "AAAA", "-----END OPENSSH PRIVATE KEY-----", "-----BEGIN CERTIFICATE-----", "MIIB", "-----END CERTIFICATE-----", "-----BEGIN PGP PRIVATE KEY BLOCK-----", "lQOYBF"];
    expect([...privateKeyLines(lines)]).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
  });

  it("masks the key's lines in a diff even when its BEGIN line is outside the hunk", () => {
    const key = Array.from({ length: 20 }, (_, i) => `K${i}${"x".repeat(40)}`);
    const old = ["-----BEGIN RSA PRIVATE KEY-----", ...key, "-----END RSA PRIVATE KEY-----", ""].join("\n");
    const changed = old.replace("K15", "Z15");
    const r = unifiedDiff(old, changed);
    expect(r).toMatchObject({ kind: "diff", text: "--- a\n+++ b\n@@ -14,7 +14,7 @@\n ****\n ****\n ****\n-****\n+****\n ****\n ****\n ****\n", maskedLines: 8 });
  });
});

// secrets as passwords are: any printable characters, spaces inside, at least 8 of them
const secretArb = fc
  .string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~'\" "), minLength: 8, maxLength: 24 })
  .map((s) => s.trim())
  .filter((s) => s.length >= 8);
const tokenArb = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/="), minLength: 8, maxLength: 40 });
const filler = fc.constantFrom<string>("", "# settings", "port = 5432", "user = app", "[database]", "host: db.internal", "timeout 30", "PasswordAuthentication yes");

/** One line holding a secret, in one of the forms the default patterns promise to catch. */
const secretLineArb = fc.oneof(
  fc.tuple(fc.constantFrom("password", "db_password", "PGPASSWORD", "client_secret", "api_key", "auth_token", "MYSQL_PWD", "db.pass", '"password"'), fc.constantFrom(" = ", "=", ": ", ":", " => "), secretArb).map(([k, sep, s]) => ({ text: `${k}${sep}${s}`, secret: s })),
  fc.tuple(fc.constantFrom("requirepass", "masterauth", "password", "rootpw"), secretArb).map(([k, s]) => ({ text: `${k} ${s}`, secret: s })),
  fc.tuple(fc.constantFrom("postgres", "https", "redis"), secretArb.map((s) => s.replace(/[\s@/]/g, "x"))).map(([scheme, s]) => ({ text: `url ${scheme}://app:${s}@db:5432/x`, secret: s })),
  tokenArb.map((s) => ({ text: `Authorization Bearer ${s}`, secret: s })),
  fc.string({ unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), minLength: 16, maxLength: 16 }).map((s) => ({ text: `id AKIA${s} here`, secret: `AKIA${s}` })),
);

describe("no masked value is ever shown", () => {
  it("in a diff, whether the line holding it is removed, added, changed or kept as context", () => {
    fc.assert(
      fc.property(fc.array(filler, { maxLength: 12 }), secretLineArb, secretLineArb, fc.nat(12), fc.constantFrom("change", "add", "remove", "context"), (lines, s1, s2, at, how) => {
        const i = Math.min(at, lines.length);
        const old = [...lines];
        const now = [...lines];
        if (how === "change" || how === "remove") old.splice(i, 0, s1.text);
        if (how === "change" || how === "add") now.splice(i, 0, s2.text);
        if (how === "context") {
          old.splice(i, 0, s1.text, "a = 1");
          now.splice(i, 0, s1.text, "a = 2");
        }
        const r = unifiedDiff(`${old.join("\n")}\n`, `${now.join("\n")}\n`);
        if (r.kind !== "diff") return;
        for (const s of [s1, s2]) {
          fc.pre(!s.text.replace(s.secret, "").includes(s.secret) && !lines.some((l) => l.includes(s.secret)));
          expect(r.text).not.toContain(s.secret);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("in a private key, whatever its lines", () => {
    fc.assert(
      fc.property(fc.array(tokenArb, { minLength: 1, maxLength: 8 }), fc.array(tokenArb, { minLength: 1, maxLength: 8 }), (k1, k2) => {
        const pem = (ls: string[]) => ["x = 1", "-----BEGIN EC PRIVATE KEY-----", ...ls, "-----END EC PRIVATE KEY-----", "y = 2", ""].join("\n");
        const r = unifiedDiff(pem(k1), pem(k2));
        for (const secret of [...k1, ...k2]) expect(r.kind === "diff" ? r.text : "").not.toContain(secret);
      }),
      { numRuns: 300 },
    );
  });

  it("in a command line, as an option's value, a variable's, or a program's own form", () => {
    const forms = (s: string): string[][] => [
      ["mysql", "-uroot", `-p${s}`, "ledger"],
      ["/usr/bin/mysqldump", `--password=${s}`, "ledger"],
      ["psql", "--password", s],
      ["env", `PGPASSWORD=${s}`, "psql"],
      ["docker", "run", "-e", `DB_PASSWORD=${s}`, "img"],
      ["app", "--api-key", s, "--verbose"],
      ["app", `--token=${s}`],
      ["keytool", "-storepass", s],
      ["openssl", "pkcs12", "-passin", `pass:${s}`],
      ["sshpass", "-p", s, "ssh", "host"],
      ["sshpass", `-p${s}`, "ssh", "host"],
      ["curl", "-u", `app:${s}`, "https://x"],
      ["curl", `--user=app:${s}`, "https://x"],
      ["smbclient", "-U", `app%${s}`, "//srv/share"],
      ["plink", "-pw", s, "host"],
    ];
    fc.assert(
      // a secret given as its own argument is taken for the next option when it begins with
      // `--` (`psql --password --host db`: --password is a switch there); documented
      fc.property(secretArb.filter((s) => !s.startsWith("--")), (s) => {
        for (const argv of forms(s)) {
          const masked = maskArgv(argv);
          expect(masked.join(" "), argv.join(" ")).not.toContain(s);
          expect(masked).toHaveLength(argv.length);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("a line's end", () => {
  it("is its newline: a value is masked to it across a carriage return or a Unicode line separator, and a CRLF's return is kept", () => {
    const cases: [string, string][] = [
      ["db_password = hunter2\r", "db_password = ****\r"],
      ["db_pass: 'hunter2' # old\r", "db_pass: ****\r"],
      ["requirepass foobared\r", "requirepass ****\r"],
      ["api_token: tok\u2028en", "api_token: ****"],
      ["password = a\u2029b", "password = ****"],
      ["secret = a\rb\r", "secret = ****\r"],
      ['"key": "-----BEGIN PRIVATE KEY-----MIIE\u2028more"', '"key": "-----BEGIN PRIVATE KEY-----****'],
      ["-----BEGIN RSA PRIVATE KEY-----\r", "-----BEGIN RSA PRIVATE KEY-----\r"],
      ["user = app\r", "user = app\r"],
    ];
    for (const [given, shown] of cases) expect(line(given), JSON.stringify(given)).toBe(shown);
    // the prefilter agrees with searching every pattern on such lines
    const without = masker(DEFAULT_SECRET_PATTERNS, { prefilter: false });
    for (const [given] of cases) expect(masker().line(given), JSON.stringify(given)).toEqual(without.line(given));
  });

  it("leaves no secret of a CRLF file in its approved copy or its diff", () => {
    const before = "user = app\r\ndb_password = hunter2\r\napi_token: QQ1\u2028ZZ1\r\n";
    const after = "user = app\r\ndb_password = NEWSECRET9\r\napi_token: QQ2\u2028ZZ2\r\n";
    const copy = approvedCopyOf(Buffer.from(before), (l) => `k:${l.length}`);
    expect(copy).toMatchObject({ ok: true, copy: { text: "user = app\r\ndb_password = ****\r\napi_token: ****\r\n" } });
    const diff = unifiedDiff(before, after);
    expect(diff.kind).toBe("diff");
    const text = diff.kind === "diff" ? diff.text : "";
    for (const secret of ["hunter2", "NEWSECRET9", "QQ", "ZZ"]) expect(text).not.toContain(secret);
  });
});

describe("maskArgv", () => {
  it("masks what the issue names, and only that", () => {
    expect(maskArgv(["mysql", "-h", "db", "-u", "root", "-pS3cret", "ledger"])).toEqual(["mysql", "-h", "db", "-u", "root", "-p****", "ledger"]);
    expect(maskArgv(["mysql", "-p", "ledger"])).toEqual(["mysql", "-p", "ledger"]);
    expect(maskArgv(["sudo", "-u", "db", "mysql", "-pX1"])).toEqual(["sudo", "-u", "db", "mysql", "-p****"]);
    expect(maskArgv(["ssh", "-p", "2222", "host"])).toEqual(["ssh", "-p", "2222", "host"]);
    expect(maskArgv(["app", "--password=x1", "--token", "t1", "--user", "u"])).toEqual(["app", "--password=****", "--token", "****", "--user", "u"]);
    expect(maskArgv(["psql", "--no-password", "-h", "db"])).toEqual(["psql", "--no-password", "-h", "db"]);
    expect(maskArgv(["app", "--password", "--verbose"])).toEqual(["app", "--password", "--verbose"]);
    expect(maskArgv(["env", "PGPASSWORD=x1", "HOME=/root", "psql"])).toEqual(["env", "PGPASSWORD=****", "HOME=/root", "psql"]);
    expect(maskArgv(["curl", "-u", "app", "https://app:pw@x/"])).toEqual(["curl", "-u", "app", "https://app:****@x/"]);
    expect(maskArgv(["curl", "-H", "Authorization: Bearer abcdefgh12345678"])).toEqual(["curl", "-H", "Authorization: ****"]);
    expect(maskArgv(["ftp", "--passive", "host"])).toEqual(["ftp", "--passive", "host"]);
  });

  it("uses the patterns given for what no option rule covers", () => {
    expect(maskArgv(["app", "pin=1234", "--password", "x"], [/pin=(?<secret>\d+)/])).toEqual(["app", "pin=****", "--password", "****"]);
  });

  it("writes one line a shell could read back", () => {
    expect(maskedCommandLine(["mysql", "-pS3cret", "-e", "select 1", ""])).toBe("mysql -p**** -e 'select 1' ''");
    expect(maskedCommandLine(["echo", "it's"])).toBe("echo 'it'\\''s'");
  });

  it("keeps the default patterns a list of plain regular expressions", () => {
    for (const p of DEFAULT_SECRET_PATTERNS) expect(p).toBeInstanceOf(RegExp);
  });
});

describe("the one-test prefilter", () => {
  it("masks every line exactly as searching every pattern does", () => {
    const withFilter = masker();
    const without = masker(DEFAULT_SECRET_PATTERNS, { prefilter: false });
    const token = fc.constantFrom("password", "PassWord", "secret", "token", "api_key", "requirepass", "=", ":", " ", "=>", '"', "<password>", "</password>", "-----BEGIN RSA PRIVATE KEY-----", "https://u:", "@host", "Bearer ", "BASIC ", "AKIAABCDEFGHIJKLMNOP", "ghp_", "glpat-", "xoxb-", "eyJabcde.eyJabcde.x", "x".repeat(40), "GL-1a2b3c,123.45,EUR", "a", "0", "pw", "PWD", "auth", "Cookie", "db_", "-", ".", "://", "ASIA", "gho_", "ssh-rsa", "\t", "\r", "\u2028");
    fc.assert(
      fc.property(fc.array(fc.oneof(token, fc.string({ maxLength: 6 })), { maxLength: 10 }), (parts) => {
        const line = parts.join("");
        expect(withFilter.line(line)).toEqual(without.line(line));
      }),
      { numRuns: 5000 },
    );
  });

  it("passes over a whole text only when no line of it would be masked, nor lie in a private key block", () => {
    const m = masker();
    const token = fc.constantFrom("password", "PassWord", "secret", "=", " ", "\n", "\r\n", "<password>", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "-----BEGIN", " PRIVATE KEY-----", "https://u:p@h", "Bearer ", "AKIAABCDEFGHIJKLMNOP", "ghp_", "eyJa.eyJb.c", "GL-1a2b3c,123.45,EUR\n", "pw", "pass\nword", "to\nken", "a", "0");
    let passed = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof(token, fc.string({ maxLength: 5 })), { maxLength: 14 }), (parts) => {
        const text = parts.join("");
        if (!m.passesOver(text)) return;
        passed++;
        const lines = text.split(/(?<=\n)/);
        for (const line of lines) expect(m.line(line.replace(/\n$/, "")).masked, line).toBe(false);
        expect([...privateKeyLines(lines)].every((x) => x === 0)).toBe(true);
      }),
      { numRuns: 5000 },
    );
    expect(passed).toBeGreaterThan(100); // the property was not vacuous
    expect(m.passesOver("000001,0000,GL-294634,18963804.25,EUR,001ed883ed1fbe7b\n".repeat(70))).toBe(true);
    expect(m.passesOver("a = 1\ndb_password = x\n")).toBe(false);
    expect(m.passesOver("x\n-----BEGIN RSA PRIVATE KEY-----\nMIIB\n")).toBe(false);
  });

  it("never passes over a text for a list with a pattern of its own, nor without the prefilter", () => {
    expect(masker([...DEFAULT_SECRET_PATTERNS, linearPattern("id-(?P<secret>[0-9]+)")]).passesOver("nothing here")).toBe(false);
    expect(masker(DEFAULT_SECRET_PATTERNS, { prefilter: false }).passesOver("nothing here")).toBe(false);
  });

  it("is made once for a list (the masker of the built-in patterns is the same object every time)", () => {
    expect(masker()).toBe(masker(DEFAULT_SECRET_PATTERNS));
    expect(masker().line("a line before it, db_password = hunter2").masked).toBe(true);
    // the same global RegExps search every line, each from its start: never from where a longer line's match ended
    expect(masker().line("pw=1").masked).toBe(true);
  });

  it("finds a line of each built-in pattern through its first, cheaper test (their words and marks)", () => {
    const lines = [
      "db_password = hunter2",
      "export MYSQL_PWD=hunter2",
      "requirepass hunter2",
      "<password>hunter2</password>",
      '{"key": "-----BEGIN OPENSSH PRIVATE KEY-----b3BlbnNzaC1rZXk"}',
      "url = postgres://app:hunter2@db:5432/x",
      "Authorization: Bearer abcdefgh12345678",
      "id ASIAABCDEFGHIJKLMNOP here",
      `token ghs_${"a".repeat(36)} here`,
      `glpat-${"b".repeat(20)}`,
      "xoxp-1234567890-abc",
      "jwt eyJhbGciOi.eyJzdWIiOi.sig",
    ];
    expect(lines).toHaveLength(DEFAULT_SECRET_PATTERNS.length);
    lines.forEach((line, i) => {
      expect(DEFAULT_SECRET_PATTERNS[i]!.test(line), line).toBe(true);
      expect(masker().line(line), line).toEqual(masker(DEFAULT_SECRET_PATTERNS, { prefilter: false }).line(line));
      expect(masker().line(line).masked, line).toBe(true);
    });
  });

  it("passes over no pattern of a caller's own: one made case-insensitive may match less, and in an alternation a backreference or a group name changes", () => {
    const cases: [RegExp[], string][] = [
      [[/secret=[^a]+/], "secret=AB"], // [^a] refuses A when case-insensitive
      [[/(x)/, /(a)(b)\2/], "abb"], // \2 is another group once the two are one alternation
      [[/(?<k>a)z/, /(?<k>b)z/], "az"], // one name twice: no alternation can be made of them
    ];
    for (const [patterns, line] of cases) {
      expect(masker(patterns).line(line)).toEqual({ text: MASK, masked: true });
      expect(masker(patterns).line(line)).toEqual(masker(patterns, { prefilter: false }).line(line));
    }
  });

  it("with a policy's mask beside the built-in patterns, masks as searching every pattern does", () => {
    const patterns = [...DEFAULT_SECRET_PATTERNS, linearPattern("id-(?P<secret>[0-9]+)")];
    const withFilter = masker(patterns);
    const without = masker(patterns, { prefilter: false });
    expect(withFilter.line("user id-1234 here")).toEqual({ text: `user id-${MASK} here`, masked: true });
    const token = fc.constantFrom("password", "=", " ", "id-", "ID-", "42", "Bearer ", "x".repeat(12), "a");
    fc.assert(
      fc.property(fc.array(fc.oneof(token, fc.string({ maxLength: 4 })), { maxLength: 8 }), (parts) => {
        const line = parts.join("");
        expect(withFilter.line(line)).toEqual(without.line(line));
      }),
      { numRuns: 2000 },
    );
  });

  it("is not used for patterns it cannot combine (another engine's, or other flags)", () => {
    const multiline = masker([/^secret$/m]);
    expect(multiline.line("secret").masked).toBe(true);
    const custom = masker([{ spans: (t: string) => (t.includes("zz") ? [[0, 2]] : []) }] as never);
    expect(custom.line("zzz").text).not.toBe("zzz");
  });
});
