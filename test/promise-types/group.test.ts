import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { behavioursFor } from "../../src/evaluator/behaviours.ts";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("group", {
  valid: ['group "finance" { required = ["ledger"] forbidden = ["guest"] max_members = 10 }', 'group "wheel" { exists = false }'],
  invalid: [{ promise: 'group "bad group" { max_members = 1 }', code: "E103", message: /a group name/ }],
});

describe("group behaviour", () => {
  const etc = mkdtempSync(join(tmpdir(), "covenant-etc-"));
  writeFileSync(
    join(etc, "passwd"),
    [
      "root:x:0:0:root:/root:/bin/bash",
      "alice:x:1000:1000::/home/alice:/bin/bash",
      "bob:x:1001:1001::/home/bob:/bin/bash",
      // carol is in sudo only through her primary group: /etc/group does not list her
      "carol:x:1002:27::/home/carol:/bin/bash",
      "+nis",
      "",
    ].join("\n"),
  );
  writeFileSync(join(etc, "group"), ["root:x:0:", "sudo:x:27:alice,bob", "alice:x:1000:", "bob:x:1001:", "empty:x:50:", ""].join("\n"));
  const roots = { proc: "/proc", etc };

  it("counts primary-group members, and is kept when every member is allowed", async () => {
    const r = await evaluateOne(`group "sudo" { allowed = ["alice", "bob", "carol"] required = ["alice"] forbidden = ["dave"] max_members = 3 }`, { roots });
    expect([r.outcome, r.reason]).toEqual(["kept", "as promised"]);
    expect(r.notes).toEqual([`skipped ${join(etc, "passwd")}:5: NIS compat entry`]);
  });

  it("reports each member who is not allowed", async () => {
    const r = await evaluateOne(`group "sudo" { allowed = ["alice"] }`, { roots });
    expect(r.outcome).toBe("drift");
    expect(r.differences).toEqual([
      { subject: "bob", attribute: "allowed", expected: "only alice", observed: "member", reason: "group sudo: bob is a member, not among the allowed (alice)" },
      { subject: "carol", attribute: "allowed", expected: "only alice", observed: "member", reason: "group sudo: carol is a member (as primary group), not among the allowed (alice)" },
    ]);
    expect(r.reason).toBe("group sudo: bob is a member, not among the allowed (alice) (and 1 more)");
  });

  it("reports required users who are missing and forbidden users who are in", async () => {
    const r = await evaluateOne(`group "sudo" { required = ["alice", "dave"] forbidden = ["carol", "root"] }`, { roots });
    expect(r.differences.map((d) => d.reason)).toEqual(["group sudo: dave is not a member, required", "group sudo: carol is a member (as primary group), forbidden"]);
  });

  it("caps the number of members", async () => {
    const r = await evaluateOne(`group "sudo" { max_members = 2 }`, { roots });
    expect(r.reason).toBe("group sudo has 3 members (alice, bob, carol), at most 2 promised");
    expect((await evaluateOne(`group "empty" { max_members = 0 }`, { roots })).outcome).toBe("kept");
  });

  it("reports a missing group unless it is promised absent", async () => {
    const missing = await evaluateOne(`group "wheel" { max_members = 1 }`, { roots });
    expect([missing.outcome, missing.reason]).toEqual(["drift", "group wheel does not exist"]);
    expect((await evaluateOne(`group "wheel" { exists = false }`, { roots })).outcome).toBe("kept");
    const present = await evaluateOne(`group "sudo" { exists = false }`, { roots });
    expect([present.outcome, present.reason]).toEqual(["drift", "group sudo exists (gid 27), promised not to"]);
  });

  it("reads the real host's accounts", async () => {
    expect((await evaluateOne(`group "root" { exists = true }`)).outcome).toBe("kept");
  });

  it("is an error, not an empty group, when the accounts cannot be read", async () => {
    const noGroup = mkdtempSync(join(tmpdir(), "covenant-etc-"));
    writeFileSync(join(noGroup, "passwd"), "root:x:0:0:root:/root:/bin/bash\n");
    const r = await evaluateOne(`group "sudo" { max_members = 3 }`, { roots: { proc: "/proc", etc: noGroup } });
    expect(r.outcome).toBe("error");
    expect(r.reason).toBe(`cannot read the local accounts: ${join(noGroup, "group")} does not exist`);
  });

  it("plans no changes: membership goes through access management", async () => {
    expect((await behavioursFor(["group"])).get("group")?.repair).toBeUndefined();
    const r = await evaluateOne(`group "sudo" { forbidden = ["bob"] }`, { roots });
    expect([r.outcome, r.changes]).toEqual(["drift", []]);
  });
});
