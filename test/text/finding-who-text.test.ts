// Who shown for people (whoLines): holders and who made the change, text a process controls escaped.
import { describe, expect, it } from "vitest";
import { whoLines } from "../../src/text/finding-who-text.ts";

describe("whoLines", () => {
  it("shows holders and who made the change, escaping what processes control", () => {
    const lines = whoLines({
      holders: [{ pid: 7, via: "lock", uid: 1000, user: "alice", exe: "/tmp/\x1b[31mevil", commandLine: "x --password=****" }, { pid: 8, via: "open", deleted: true }],
      holdersNote: "3 processes' descriptors could not be listed",
      madeBy: { status: "attributed", changes: [{ at: "2026-12-05T00:00:00.000Z", serial: 9, syscall: "openat", pid: 10, ppid: 1, uid: 0, user: "root", exe: "/usr/bin/dash", comm: "sh\x1b" }] },
    });
    expect(lines.join("\n")).not.toContain("\x1b");
    expect(lines).toEqual([
      "at the file when seen: pid 7 holds a lock on it, alice (uid 1000), /tmp/\\x1b[31mevil: x --password=****",
      "at the file when seen: pid 8 has open the file deleted or replaced at this path (matched by its former name), user unknown, executable unknown",
      "  (3 processes' descriptors could not be listed)",
      "made by pid 10 (parent 1), root (uid 0), login uid unset, /usr/bin/dash, calling itself sh\\x1b (comm, set by the process): openat at 2026-12-05T00:00:00.000Z (audit event 9)",
    ]);
    expect(whoLines({ madeBy: { status: "none-found", reason: "none" } })).toEqual(["made by: no audit record found: none"]);
    expect(whoLines({})).toEqual([]);
  });
});
