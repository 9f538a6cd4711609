// The words of a message (src/notifiers/render.ts): subject, plain text, HTML and SMS, with
// outside text escaped for each, and the SMS length as the network counts it.
import { serialize } from "node:v8";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { html, isGsm7, plainText, smsLength, smsSegments, smsText, subject } from "../../src/notifiers/render.js";
import { deficiency, HOSTILE_REASON, hostileMessage, message } from "./messages.js";

describe("subject", () => {
  it("names the kind, severity, control, host, count and reason", () => {
    expect(subject(message())).toBe("[covenant] CRITICAL ITGC-AC-01 on ledger-01: 1 deficiency — mode is 0644, promised 0640");
    const two = message({ deficiencies: [deficiency(), deficiency({ id: "d-22222222", control: { ...deficiency().control, id: "SOX-2", severity: "low" } })] });
    expect(subject(two)).toBe("[covenant] CRITICAL ITGC-AC-01 and 1 more control on ledger-01: 2 deficiencies — mode is 0644, promised 0640");
  });

  it("marks notices, resolutions, reminders and escalations", () => {
    const notice = deficiency({ notice: true, status: "resolved", outcome: "repaired", resolvedBy: "repaired", changes: ["repaired: mode 0644 → 0640"] });
    expect(subject(message({ deficiencies: [notice] }))).toMatch(/^\[covenant\] NOTICE CRITICAL ITGC-AC-01 on ledger-01: 1 notice \(repaired\) — /);
    const resolved = deficiency({ status: "resolved", resolvedBy: "kept", resolvedAt: "2026-12-05T11:00:00.000Z" });
    expect(subject(message({ kind: "resolved", deficiencies: [resolved] }))).toMatch(/^\[covenant\] RESOLVED CRITICAL ITGC-AC-01 on ledger-01: 1 resolved — /);
    expect(subject(message({ kind: "reminder" }))).toMatch(/^\[covenant\] REMINDER CRITICAL /);
    expect(subject(message({ kind: "escalated" }))).toMatch(/^\[covenant\] ESCALATED CRITICAL /);
    expect(subject(message({ kind: "test", deficiencies: [] }))).toBe("[covenant] TEST message to security from ledger-01");
  });

  it("stays one line whatever the reason holds, and cuts a long reason", () => {
    const s = subject(hostileMessage());
    expect(s).not.toMatch(/[\n\r\u001b\u202e]/);
    expect(s).toContain("帳簿 Журнал");
    const long = subject(message({ deficiencies: [deficiency({ reason: "x".repeat(500) })] }));
    expect(long.length).toBeLessThan(200);
    expect(long.endsWith("…")).toBe(true);
  });
});

describe("plain text", () => {
  it("says everything a person needs about each member", () => {
    const acked = deficiency({ ack: { at: "2026-12-05T10:00:00.000Z", reason: "change window CHG-1234", by: "Alice Admin", user: "alice", loginUid: 1000, record: 315 } });
    const text = plainText(message({ deficiencies: [acked, deficiency({ id: "d-99999999" })] }));
    for (const expected of [
      "d-7k3q9m2x  OPEN  ITGC-AC-01",
      "Control:          ITGC-AC-01: Ledger configuration is protected",
      "Owner:            security",
      "Severity:         critical (key control)",
      "Host:             ledger-01",
      "Promise:          file /etc/ledger/ledger.conf (policies/ledger.cov:12)",
      "Promised:         mode = 0640\n                    owner = root",
      "Observed:         mode: 0644 (promised 0640)",
      "Repaired or held: held: repair is not allowed for this promise",
      "Since:            2026-12-05T09:00:00.000Z (run 41)",
      "Acknowledgement:  acknowledged by Alice Admin (user alice), login uid 1000 at 2026-12-05T10:00:00.000Z (history record 315): change window CHG-1234",
      "History record:   312 (opened at record 310)",
      "Acknowledgement:  not acknowledged",
      'To acknowledge:   covenant ack d-99999999 --reason "..."',
    ]) expect(text).toContain(expected);
    // the acknowledged one is not told how to acknowledge again
    expect(text).not.toContain("covenant ack d-7k3q9m2x");
  });

  it("makes control characters and line breaks of outside text visible", () => {
    const text = plainText(hostileMessage());
    expect(text).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(text).not.toMatch(/^RESOLVED/m);
    expect(text).toContain('Reason:           owner is "mallory"\\nRESOLVED: all fine <script>alert(1)</script> \\x1b[31mred\\x1b[0m \\u202eevil 帳簿 Журнал');
    expect(text).toContain("Promise:          file /srv/<b>x</b>\\n/etc/passwd");
    expect(text).toContain("by Зоя (user zoya)");
  });

  it("notices say what was undone and never ask for an acknowledgement", () => {
    const notice = deficiency({ notice: true, status: "resolved", outcome: "repaired", resolvedBy: "repaired", changes: ["repaired: mode 0644 → 0640"] });
    const text = plainText(message({ deficiencies: [notice] }));
    expect(text).toMatch(/^NOTICE CRITICAL/);
    expect(text).toContain("d-7k3q9m2x  NOTICE  ITGC-AC-01");
    expect(text).toContain("Repaired or held: repaired: mode 0644 → 0640");
    expect(text).not.toContain("covenant ack");
  });
});

describe("html", () => {
  it("escapes every piece of outside text", () => {
    const out = html(hostileMessage());
    expect(out).not.toContain("<script>");
    expect(out).not.toContain("<img");
    expect(out).not.toContain("<h1>forged");
    expect(out).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(out).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(out).toContain("owner is &quot;mallory&quot;\\nRESOLVED");
    // text beyond ASCII as character references: the page is ASCII, read back the same
    expect(out).toMatch(/^[\x00-\x7e]*$/);
    expect(out).toContain("&#24115;&#31807; &#1046;&#1091;&#1088;&#1085;&#1072;&#1083;");
    expect(out).toContain("1 deficiency &#8212; owner");
    // held as a one-byte string (V8's serializer writes such a string with the tag '"', a
    // two-byte one with 'c'): half the memory while the email waits to be sent
    expect(serialize(out)[2]).toBe(0x22);
  });

  it("holds the same facts as the plain text", () => {
    const out = html(message());
    for (const expected of ["ITGC-AC-01: Ledger configuration is protected", "mode = 0640<br>owner = root", "2026-12-05T09:00:00.000Z (run 41)", "<code>covenant ack d-7k3q9m2x --reason &quot;...&quot;</code>"]) {
      expect(out).toContain(expected);
    }
  });

  it("never lets a '<' of outside text through (property)", () => {
    const count = (s: string, c: string) => s.split(c).length - 1;
    const neutral = html(message({ deficiencies: [deficiency({ reason: "x", differences: ["x"], promised: ["x"], changes: ["x"], host: "x", ack: { at: "x", reason: "x", by: "x", user: "x", loginUid: 1, record: 1 } })], host: "x" }));
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string(), fc.string({ unit: "grapheme" }), (a, b, c) => {
        const d = deficiency({ reason: a, differences: [b], promised: [c], changes: [a], host: b, ack: { at: c, reason: a, by: b, user: c, loginUid: 1, record: 1 } });
        const out = html(message({ deficiencies: [d], host: c }));
        expect(count(out, "<")).toBe(count(neutral, "<"));
        expect(count(out, ">")).toBe(count(neutral, ">"));
      }),
    );
  });
});

describe("sms length", () => {
  it("tells GSM-7 from UCS-2", () => {
    expect(isGsm7("Covenant CRITICAL ITGC-AC-01 on ledger-01: mode 0644 @£$¥èé {}[]~|€^\\")).toBe(true);
    expect(isGsm7("naïve")).toBe(false); // ï is not in the GSM-7 tables
    expect(isGsm7("帳簿")).toBe(false);
    expect(isGsm7("ESC \u001b itself")).toBe(false);
    expect(isGsm7("")).toBe(true);
  });

  it("counts segments at the boundaries", () => {
    const cases: [string, number][] = [
      ["", 0],
      ["a".repeat(160), 1],
      ["a".repeat(161), 2],
      ["a".repeat(306), 2],
      ["a".repeat(307), 3],
      ["€".repeat(80), 1], // two septets each
      ["€".repeat(81), 2],
      ["a".repeat(152) + "€", 1], // 154 septets: one message still
      ["a".repeat(152) + "€" + "a".repeat(152), 3], // the pair cannot straddle: 152 | 2+151 | 1
      ["é".repeat(160), 1], // é is GSM-7
      ["ж".repeat(70), 1],
      ["ж".repeat(71), 2],
      ["ж".repeat(134), 2],
      ["ж".repeat(135), 3],
      ["😀".repeat(35), 1], // a surrogate pair is 2 units
      ["😀".repeat(36), 2],
      ["a".repeat(66) + "😀" + "a".repeat(67), 3], // the pair cannot straddle either
    ];
    for (const [text, n] of cases) expect(smsSegments(text), `${[...text].length} × ${text[0]}`).toBe(n);
    expect(smsLength("€a")).toBe(3);
    expect(smsLength("жa")).toBe(2);
  });

  it("agrees with a count over the encoded stream (property)", () => {
    const gsmChar = fc.constantFrom(..."@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà\f^{}\\[~]|€");
    const anyChar = fc.oneof(gsmChar, fc.string({ unit: "binary", minLength: 1, maxLength: 1 }));
    const texts = fc.oneof(fc.array(gsmChar, { maxLength: 400 }), fc.array(anyChar, { maxLength: 300 })).map((cs) => cs.join(""));
    fc.assert(
      fc.property(texts, (text) => {
        expect(smsSegments(text)).toBe(referenceSegments(text));
      }),
    );
  });
});

/**
 * The reference: encode the text as the network would (ESC + septet for an extension character;
 * UTF-16 code units otherwise), cut the stream into parts, and move a dangling ESC or high
 * surrogate at the end of a part to the next.
 */
function referenceSegments(text: string): number {
  const ext = "\f^{}\\[~]|€";
  const stream: string[] = isGsm7(text) ? [...text].flatMap((c) => (ext.includes(c) ? ["ESC", c] : [c])) : text.split("");
  if (stream.length === 0) return 0;
  const [single, part] = isGsm7(text) ? [160, 153] : [70, 67];
  if (stream.length <= single) return 1;
  let parts = 0;
  for (let i = 0; i < stream.length; parts++) {
    let end = Math.min(i + part, stream.length);
    const last = stream[end - 1]!;
    if (end < stream.length && (last === "ESC" || /[\ud800-\udbff]/.test(last))) end--;
    i = end;
  }
  return parts;
}

describe("sms text", () => {
  it("holds the kind, severity, control, host, id and reason in one segment", () => {
    const text = smsText(message());
    expect(text).toBe("Covenant CRITICAL ITGC-AC-01 on ledger-01 d-7k3q9m2x: mode is 0644, promised 0640");
    expect(smsSegments(text)).toBe(1);
    const two = smsText(message({ kind: "reminder", deficiencies: [deficiency(), deficiency({ id: "d-22222222" })] }));
    expect(two).toBe("Covenant REMINDER CRITICAL ITGC-AC-01 on ledger-01 d-7k3q9m2x +1: mode is 0644, promised 0640");
  });

  it("cuts a long reason to 160 GSM-7 characters", () => {
    const text = smsText(message({ deficiencies: [deficiency({ reason: "content differs: ".repeat(30) })] }));
    expect(text.length).toBe(160);
    expect(text.endsWith("...")).toBe(true);
    expect(text.startsWith("Covenant CRITICAL ITGC-AC-01 on ledger-01 d-7k3q9m2x: content differs")).toBe(true);
  });

  it("fits 70 units when the text needs UCS-2", () => {
    const text = smsText(message({ deficiencies: [deficiency({ reason: "Журнал изменён: владелец root, обещано ledger; права 0644 вместо 0640" })] }));
    expect(isGsm7(text)).toBe(false);
    expect(text.length).toBeLessThanOrEqual(70);
    expect(smsSegments(text)).toBe(1);
    expect(text).toMatch(/^Covenant CRITICAL ITGC-AC-01 on ledger-01 d-7k3q9m2x: Журнал.*…$/);
  });

  it("keeps a GSM-7 start of a reason whose non-Latin part falls past the cut", () => {
    const reason = `${"x".repeat(150)} Журнал`;
    const text = smsText(message({ deficiencies: [deficiency({ reason })] }));
    expect(isGsm7(text)).toBe(true);
    expect(smsLength(text)).toBe(160);
  });

  it("is always one line and one segment (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme", maxLength: 80 }), (reason, host) => {
        const text = smsText(message({ host, deficiencies: [deficiency({ reason, host })] }));
        expect(smsSegments(text)).toBeLessThanOrEqual(1);
        expect(text).not.toMatch(/[\n\r\u001b]/);
      }),
    );
  });

  it("escapes the hostile reason", () => {
    const text = smsText(hostileMessage());
    expect(text).not.toMatch(/[\n\u001b\u202e]/);
    expect(text.startsWith("Covenant CRITICAL ITGC-AC-01 on ledger-01 d-hst1le00: owner is")).toBe(true);
    expect(HOSTILE_REASON).toContain("\n");
  });
});
