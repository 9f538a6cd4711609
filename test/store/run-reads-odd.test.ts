// A path whose JavaScript text SQLite gives back otherwise (a lone surrogate: written as CESU
// bytes, read as replacement characters): its row read ahead could not be matched to the path
// asked for, and was taken for "none" where its statement finds it.
import { afterAll, describe, expect, it } from "vitest";
import type { Baseline } from "../../src/evaluator/contract.ts";
import { StateStore } from "../../src/store/store.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

const baseline: Baseline = { algorithm: "sha256", digest: "a".repeat(64), size: 1, mode: 0o640, uid: 0, gid: 0, mtimeMs: 1, approvedAt: "2026-11-23T10:00:00.000Z" };

describe("a path SQLite does not give back as written", () => {
  it("is read by its statement, not taken for none by the read-ahead", () => {
    const dir = tempDir("run-reads-odd");
    const path = "/srv/a\ud800b";
    const setup = StateStore.open(dir);
    setup.set(path, baseline);
    setup.close();
    const seen = (prefetch: boolean) => {
      const store = StateStore.open(dir);
      try {
        if (prefetch) store.prefetch({ keys: [], paths: [path, "/srv/plain"] });
        return { baseline: store.get(path), approved: store.approved(path) };
      } finally {
        store.close();
      }
    };
    const byStatement = seen(false);
    expect(seen(true)).toEqual(byStatement);
  });
});
