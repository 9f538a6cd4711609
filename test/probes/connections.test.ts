import { describe, expect, it } from "vitest";
import * as connections from "../../src/probes/connections.ts";

describe("connections probe", () => {
  it("joins sockets with user names and keeps sockets whose owners cannot be read", () => {
    // the fixture tree has tables but no /proc/[pid]: owners are unknown, and said to be
    const r = connections.read({ proc: "test/fixtures/proc/debian12-vm", etc: "test/fixtures/proc/debian12-vm/etc" }, { localPort: 5432 });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.map((c) => [c.state, c.user, c.owners.length])).toEqual([["LISTEN", "postgres", 0]]);
  });

  it("gives no owner to a TIME_WAIT socket", () => {
    const r = connections.read({ proc: "test/fixtures/proc/awkward", etc: "test/fixtures/proc/debian12-vm/etc" }, { state: "TIME_WAIT" });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value).toHaveLength(1);
    expect(r.value[0]!.owners).toEqual([]);
  });
});
