// What `covenant watch` watches (src/watch/watch-set.ts): the realtime file and directory
// promises of a policy, the directories handed to inotify, and which promises an event's path
// may have changed.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPaths } from "../../src/checker/check.ts";
import type { Policy } from "../../src/checker/policy.ts";
import { watchSet, watchTargets } from "../../src/watch/watch-set.ts";

function policy(body: string): Policy {
  const dir = mkdtempSync(join(tmpdir(), "covenant-watchset-"));
  const file = join(dir, "p.promise");
  writeFileSync(file, `control "W-1" {\n  title = "watched"\n${body}\n}\n`);
  const checked = checkPaths([file]);
  if (!checked.policy) throw new Error(checked.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return checked.policy;
}

describe("the watch set", () => {
  const p = policy(`
  file "/srv/ledger/ledger.conf" { mode = 0640 watch = realtime }
  file "/srv/ledger/other.conf" { mode = 0640 }
  directory "/srv/books" { max_mode = 0750 watch = realtime }
  directory "/srv/deep" { max_mode = 0750 recurse = true max_depth = 2 watch = realtime }
  file "/srv/batches/*.dat" { mode = 0640 watch = realtime }
  file "/srv/tree/**/*.key" { mode = 0600 watch = realtime }
`);
  const set = watchSet(watchTargets(p));

  it("takes only the realtime file and directory promises", () => {
    expect(set.targets.map((t) => t.key)).toEqual([
      "W-1/file:/srv/ledger/ledger.conf",
      "W-1/directory:/srv/books",
      "W-1/directory:/srv/deep",
      "W-1/file:/srv/batches/*.dat",
      "W-1/file:/srv/tree/**/*.key",
    ]);
  });

  it("watches a file's directory (a file replaced by a rename is another inode), a directory and its parent, a glob's literal base", () => {
    expect(set.roots).toEqual([
      { path: "/srv", depth: 0 },
      { path: "/srv/batches", depth: 1 },
      { path: "/srv/books", depth: 0 },
      { path: "/srv/deep", depth: 2 },
      { path: "/srv/ledger", depth: 0 },
      { path: "/srv/tree", depth: 33 },
    ]);
  });

  it("names the promises an event's path may have changed", () => {
    expect(set.affected("/srv/ledger/ledger.conf")).toEqual(["W-1/file:/srv/ledger/ledger.conf"]);
    // a sibling that no promise watches in real time changes nothing
    expect(set.affected("/srv/ledger/other.conf")).toEqual([]);
    expect(set.affected("/srv/ledger/ledger.conf.swp")).toEqual([]);
    // a directory without recurse: itself and its entries, not deeper
    expect(set.affected("/srv/books")).toEqual(["W-1/directory:/srv/books"]);
    expect(set.affected("/srv/books/2026.csv")).toEqual(["W-1/directory:/srv/books"]);
    expect(set.affected("/srv/books/sub/x")).toEqual([]);
    // recurse with max_depth 2: entries down to three levels below (depth 2 below its entries)
    expect(set.affected("/srv/deep/a/b/c")).toEqual(["W-1/directory:/srv/deep"]);
    expect(set.affected("/srv/deep/a/b/c/d")).toEqual([]);
    expect(set.affected("/srv/batches/7.dat")).toEqual(["W-1/file:/srv/batches/*.dat"]);
    expect(set.affected("/srv/batches/7.txt")).toEqual([]);
    expect(set.affected("/srv/tree/a/b/c/server.key")).toEqual(["W-1/file:/srv/tree/**/*.key"]);
    expect(set.affected("/srv/deeper")).toEqual([]);
  });

  it("names, for an event that names no entry of a directory, every promise on an entry of it", () => {
    expect(set.affectedWithin("/srv/ledger")).toEqual(["W-1/file:/srv/ledger/ledger.conf"]);
    expect(set.affectedWithin("/srv")).toEqual(["W-1/directory:/srv/books", "W-1/directory:/srv/deep"]);
    expect(set.affectedWithin("/srv/tree/a/b")).toEqual(["W-1/file:/srv/tree/**/*.key"]);
    expect(set.affectedWithin("/var")).toEqual([]);
  });

  it("gives an event on both a file promise and a directory promise above it to both, in policy order", () => {
    const both = watchSet(watchTargets(policy(`
  directory "/etc/app" { max_mode = 0755 recurse = true watch = realtime }
  file "/etc/app/app.conf" { mode = 0640 watch = realtime }
`)));
    expect(both.affected("/etc/app/app.conf")).toEqual(["W-1/directory:/etc/app", "W-1/file:/etc/app/app.conf"]);
  });

  it("watches nothing for a policy without realtime promises", () => {
    const none = watchSet(watchTargets(policy(`  file "/etc/hosts" { mode = 0644 }`)));
    expect(none.targets).toEqual([]);
    expect(none.roots).toEqual([]);
    expect(none.affected("/etc/hosts")).toEqual([]);
  });
});
