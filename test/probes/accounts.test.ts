import { describe, expect, it } from "vitest";
import { membersOf, parseGroup, parsePasswd, read, superusers } from "../../src/probes/accounts.ts";

describe("accounts", () => {
  const r = read({ etc: "test/fixtures/proc/debian12-vm/etc" });
  if (!r.ok) throw new Error(r.error.message);
  const { users, groups, userByUid } = r.value;

  it("reads users and groups, skipping malformed and NIS lines with reasons", () => {
    expect(users.map((u) => u.name)).toEqual(["root", "daemon", "postgres", "toor"]);
    expect(groups.map((g) => g.name)).toEqual(["root", "sudo", "postgres"]);
    expect(r.skipped.map((s) => s.reason)).toEqual([
      "expected 7 fields separated by `:`, got 1",
      "NIS compat entry",
      "malformed entry for `bad`",
    ]);
  });

  it("lists every uid 0 account", () => {
    expect(superusers(users)).toEqual(["root", "toor"]);
    expect(userByUid.get(0)?.name).toBe("root");
  });

  it("counts primary-group members as members", () => {
    expect(membersOf(groups.find((g) => g.name === "sudo")!, users)).toEqual(["alice", "bob"]);
    expect(membersOf(groups.find((g) => g.name === "postgres")!, users)).toEqual(["postgres"]);
    expect(membersOf(groups.find((g) => g.name === "root")!, users)).toEqual(["root", "toor"]);
  });

  it("reads files with CRLF line ends and numbers every skipped line", () => {
    const g = parseGroup("wheel:x:10:bob,alice\r\nbad:x:zz:\r\n");
    expect(g.groups).toEqual([{ name: "wheel", gid: 10, members: ["bob", "alice"] }]);
    expect(g.skipped).toEqual([{ path: "/etc/group", line: 2, reason: "malformed entry for `bad`" }]);
    expect(parsePasswd("toor:x:0x0:0::/:/bin/sh\n").skipped[0]?.line).toBe(1);
  });

  it("reads the live /etc", () => {
    const live = read({ etc: "/etc" });
    expect(live.ok && live.value.userByUid.get(0)?.name).toBe("root");
  });
});
