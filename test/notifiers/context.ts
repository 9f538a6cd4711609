// A ChannelContext for tests: secrets from a temporary file or the environment, as the
// configuration names them, and a fixed clock.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCertificates } from "../../src/config/secrets.js";
import type { SecretRef } from "../../src/config/types.js";
import type { ChannelContext } from "../../src/notifiers/contract.js";

export function testContext(now = new Date("2026-12-05T09:00:30.000Z")): ChannelContext {
  return {
    readSecret(ref: SecretRef, what: string): string {
      if ("env" in ref) {
        const value = process.env[ref.env];
        if (value === undefined) throw new Error(`${what}: environment variable ${ref.env} is not set`);
        return value;
      }
      return readFileSync(ref.file, "utf8").replace(/\r?\n$/, "");
    },
    // as a command reads it (config/secrets.ts), by the rule of the user the tests run as
    readCaFile: (path: string, what: string) => readCertificates(path, what),
    now: () => now,
  };
}

/** A secret in a real file (0600, ending in a newline as an editor leaves it), as `secret_file:` or `password_file:` names it. */
export function secretFile(secret: string): SecretRef {
  const dir = mkdtempSync(join(tmpdir(), "covenant-test-secret-"));
  const path = join(dir, "secret");
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return { file: path };
}
