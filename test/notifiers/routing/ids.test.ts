// Message ids and fingerprints: the same plan gives the same ids; what makes a message another gives another.
import { describe, expect, it } from "vitest";
import { base32, fingerprint, messageId, type MessageIdInput } from "../../../src/notifiers/routing/ids.ts";
import { plan } from "../../../src/notifiers/routing/index.ts";
import { acknowledged, deficiency, notifyConfig, resolved } from "../../helpers/notify-config.ts";

const a = deficiency("d-aaaa0001");
const b = deficiency("d-aaaa0002");
const base: MessageIdInput = { route: "root", groupKey: '{control="ITGC-AC-01"}', recipient: "security/hook", kind: "opened", members: [a, b], since: 1_772_000_000_000 };

describe("messageId", () => {
  it("is m- and 16 characters of lower-case Crockford base32", () => {
    expect(messageId(base)).toMatch(/^m-[0-9a-hjkmnp-tv-z]{16}$/);
  });

  it("is the same for the same inputs, whatever the members' order", () => {
    expect(messageId(base)).toBe(messageId({ ...base, members: [b, a] }));
  });

  it("differs when anything that makes the message differs", () => {
    const id = messageId(base);
    expect(messageId({ ...base, members: [a] })).not.toBe(id);
    expect(messageId({ ...base, members: [a, acknowledged(b, "2026-03-02T13:00:00Z")] })).not.toBe(id);
    expect(messageId({ ...base, route: "root.0" })).not.toBe(id);
    expect(messageId({ ...base, groupKey: "{}" })).not.toBe(id);
    expect(messageId({ ...base, recipient: "security/mail/alice@example.com" })).not.toBe(id);
    expect(messageId({ ...base, kind: "reminder" })).not.toBe(id);
    expect(messageId({ ...base, since: base.since + 1 })).not.toBe(id);
  });

  it("comes out the same when a plan is made again from the same state (a crash before it was saved)", () => {
    const config = notifyConfig({ stakeholders: { siem: { channels: ["hook"] } }, channels: { hook: "webhook" }, route: { receivers: ["siem"], groupWaitMs: 0 } });
    const input = { now: Date.parse("2026-03-02T12:00:00Z"), config, deficiencies: [a, b], groups: [], facts: new Map() };
    const first = plan(input).messages.map((m) => m.message.id);
    // later, as the run after a crash would: due then, same id
    const again = plan({ ...input, now: input.now + 60_000 }).messages.map((m) => m.message.id);
    expect(first).toHaveLength(1);
    expect(again).toEqual(first);
  });
});

describe("fingerprint", () => {
  it("changes on acknowledgement, outcome, resolution and a new record", () => {
    const fp = fingerprint(a);
    expect(fp).toBe("open:drift::1");
    expect(fingerprint({ ...a, ack: acknowledged(a, "2026-03-02T13:00:00Z").ack })).toBe("open:drift:ack:1");
    expect(fingerprint(acknowledged(a, "2026-03-02T13:00:00Z"))).not.toBe(fp);
    expect(fingerprint({ ...a, outcome: "error" })).not.toBe(fp);
    expect(fingerprint(resolved(a, "2026-03-02T13:00:00Z"))).not.toBe(fp);
    expect(fingerprint({ ...a, lastRecord: 2 })).not.toBe(fp);
  });
});

describe("base32", () => {
  it("encodes five bits a character, most significant first", () => {
    expect(base32(new Uint8Array([0, 0, 0, 0, 0]), 8)).toBe("00000000");
    expect(base32(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]), 8)).toBe("zzzzzzzz");
    // 0x08 0x42 = 00001 00001 00001 0: "111" then a zero
    expect(base32(new Uint8Array([0x08, 0x42, 0x10, 0x84, 0x21]), 8)).toBe("11111111");
    expect(() => base32(new Uint8Array(2), 4)).toThrow(RangeError);
  });
});
