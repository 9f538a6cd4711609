// readSecret: from the environment or a file; every failure names where it looked and never the value.
import { chmodSync, chownSync, linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSecret, SecretError } from "../../src/config/secrets.ts";

const SECRET = "correct-horse-battery-staple";

function secretFile(content: string, mode = 0o600): string {
  const dir = mkdtempSync(join(tmpdir(), "covenant-secret-"));
  const path = join(dir, "secret");
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

/** The error readSecret throws, checked to be a SecretError without the secret in it. */
function failure(fn: () => unknown): SecretError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecretError);
    expect((err as Error).message).not.toContain(SECRET);
    expect(String((err as Error).stack)).not.toContain(SECRET);
    return err as SecretError;
  }
  throw new Error("readSecret did not throw");
}

describe("readSecret from the environment", () => {
  it("gives the variable's value", () => {
    expect(readSecret({ env: "SMTP_PASSWORD" }, "the SMTP password", { env: { SMTP_PASSWORD: SECRET } })).toBe(SECRET);
  });
  it("a missing or empty variable is an error naming it", () => {
    const missing = failure(() => readSecret({ env: "SMTP_PASSWORD" }, "the SMTP password of channel mail", { env: {} }));
    expect(missing.message).toBe("the SMTP password of channel mail: the environment variable SMTP_PASSWORD is not set; fix: set SMTP_PASSWORD in the environment Covenant runs in (its systemd unit's EnvironmentFile=, for instance)");
    expect(failure(() => readSecret({ env: "T" }, "the token", { env: { T: "" } })).message).toContain("the environment variable T is empty");
  });
  it("reads process.env when no environment is given", () => {
    process.env["COVENANT_TEST_SECRET"] = SECRET;
    try {
      expect(readSecret({ env: "COVENANT_TEST_SECRET" }, "x")).toBe(SECRET);
    } finally {
      delete process.env["COVENANT_TEST_SECRET"];
    }
  });
});

describe("readSecret from a file", () => {
  it("gives the content without its trailing newline", () => {
    expect(readSecret({ file: secretFile(`${SECRET}\n`) }, "x", { root: false })).toBe(SECRET);
    expect(readSecret({ file: secretFile(`${SECRET}\r\n`) }, "x", { root: false })).toBe(SECRET);
    // inner newlines are the secret's (a PEM key)
    expect(readSecret({ file: secretFile("a\nb\n") }, "x", { root: false })).toBe("a\nb");
  });
  it("a missing file is an error with its path", () => {
    const e = failure(() => readSecret({ file: "/nonexistent/covenant/smtp.pass" }, "the SMTP password", { root: false }));
    expect(e.message).toBe("the SMTP password: the secret file /nonexistent/covenant/smtp.pass cannot be read: no such file or directory");
  });
  it("a file its group or others can read is refused for any user, with chmod 600 as the fix", () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      const path = secretFile(SECRET, mode);
      const e = failure(() => readSecret({ file: path }, "the webhook key", { root: false }));
      expect(e.message).toContain(`the secret file ${path} is world-readable or group-readable`);
      expect(e.fix).toBe(`\`chmod 600 ${path}\``);
    }
  });
  it("an empty file, a FIFO and a directory are refused without blocking", () => {
    expect(failure(() => readSecret({ file: secretFile("\n") }, "x", { root: false })).message).toContain("is empty");
    const dir = mkdtempSync(join(tmpdir(), "covenant-secret-"));
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    expect(failure(() => readSecret({ file: fifo }, "x", { root: false })).message).toContain("a FIFO, not a regular file");
    const sub = join(dir, "sub");
    mkdirSync(sub, { mode: 0o700 });
    expect(failure(() => readSecret({ file: sub }, "x", { root: false })).message).toContain("not a regular file");
  });
  it("a file larger than a secret can be is refused", () => {
    const e = failure(() => readSecret({ file: secretFile(SECRET.repeat(5000)) }, "x", { root: false }));
    expect(e.message).toContain("larger than the 64 KiB a secret may be");
  });
  it("bytes that are not UTF-8 are refused without showing any of them", () => {
    const path = secretFile("");
    writeFileSync(path, Buffer.concat([Buffer.from(SECRET), Buffer.from([0xff, 0xfe])]));
    expect(failure(() => readSecret({ file: path }, "x", { root: false })).message).toBe(`x: the secret file ${path} is not UTF-8 text`);
  });

  const asRoot = process.getuid?.() === 0;
  it.runIf(asRoot)("as root: a secret file another user owns, or reached through their link, is refused", () => {
    const path = secretFile(SECRET);
    chownSync(path, 1234, 1234);
    const e = failure(() => readSecret({ file: path }, "x", { root: true }));
    expect(e.message).toContain("owned by uid 1234, not root");
    // the same file read by its owner's rule (not root): closed to others, so accepted
    expect(readSecret({ file: path }, "x", { root: false })).toBe(SECRET);
    const mine = secretFile(SECRET);
    const dir = mkdtempSync(join(tmpdir(), "covenant-secret-"));
    const link = join(dir, "link");
    symlinkSync(mine, link);
    expect(readSecret({ file: link }, "x", { root: true })).toBe(SECRET);
    const theirs = join(dir, "theirs");
    symlinkSync(mine, theirs);
    execFileSync("chown", ["-h", "1234", theirs]);
    expect(failure(() => readSecret({ file: theirs }, "x", { root: true })).message).toContain("its owner decides where it leads");
  });

  it.runIf(asRoot)("as root: a secret file with another name (a hard link someone made to a file of root's) is refused", () => {
    const path = secretFile(SECRET);
    expect(readSecret({ file: path }, "x", { root: true })).toBe(SECRET);
    linkSync(path, `${path}.other`);
    const e = failure(() => readSecret({ file: path }, "x", { root: true }));
    expect(e.message).toContain("has 1 other name (a hard link)");
    expect(e.message).not.toContain(SECRET);
    // not root: a hard link gives no other user anything root has
    expect(readSecret({ file: path }, "x", { root: false })).toBe(SECRET);
  });
});
