// A ChannelContext for tests: secrets from a temporary file or the environment, as the
// configuration names them, and a fixed clock.
import { readFileSync } from "node:fs";
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
    now: () => now,
  };
}
