// A file-integrity deficiency in a message (issue 15): what changed and the masked diff in the
// email, the file and kinds of change in the SMS (one segment), findings and the approval in the
// webhook payload; outside text escaped everywhere.
import { describe, expect, it } from "vitest";
import { webhookPayload } from "../../src/notifiers/payload.js";
import { html, plainText, smsSegments, smsText } from "../../src/notifiers/render.js";
import { deficiency, message } from "./messages.js";

const findings = [
  {
    path: "/etc/ledger/ledger.conf",
    kinds: ["content", "mtime"],
    changes: ["content sha256 87428fc522803d31… → 0263829989b6fd95…, size 2 bytes → 3 bytes", "mtime 2026-12-05T09:00:00.000Z → 2026-12-05T09:01:00.000Z"],
    diff: { text: "--- a\n+++ b\n@@ -1,2 +1,2 @@\n-limit = 10\n-password = ****\n+limit = 99\n+password = ****\n", added: 2, removed: 2, maskedLines: 2 },
  },
  { path: "/etc/ledger/new\nFORGED LINE", kinds: ["created"], changes: ["created (file, 3 bytes, mode 0644, uid 0, gid 0, sha256 …)"], diff: { none: "no approved content to compare with: the file is new" } },
];

describe("a file-integrity deficiency in messages", () => {
  it("the email says what changed, with the masked diff, and a name cannot forge a line", () => {
    const text = plainText(message({ deficiencies: [deficiency({ findings })] }));
    expect(text).toContain("Changed:");
    expect(text).toContain("/etc/ledger/ledger.conf: content sha256");
    expect(text).toContain("-password = ****");
    expect(text).toContain("+limit = 99");
    expect(text).toContain("/etc/ledger/new\\nFORGED LINE: created");
    expect(text).not.toMatch(/^FORGED LINE/m);
    expect(html(message({ deficiencies: [deficiency({ findings })] }))).toContain("+limit = 99");
  });

  it("the SMS names the file and the kinds of change, in one segment", () => {
    const sms = smsText(message({ deficiencies: [deficiency({ findings })] }));
    expect(sms).toContain("/etc/ledger/ledger.conf: content, mtime +1 files;");
    expect(smsSegments(sms)).toBe(1);
  });

  it("a deficiency closed by an approval says who approved and why; the webhook carries findings and the approval", () => {
    const closed = deficiency({ status: "resolved", resolvedBy: "kept", resolvedAt: "2026-12-05T11:00:00.000Z", findings, approval: { by: "Bob Controller", reason: "CHG-1234 year-end close", record: 400 } });
    expect(plainText(message({ kind: "resolved", deficiencies: [closed] }))).toContain("approved by Bob Controller: CHG-1234 year-end close (history record 400)");
    const payload = webhookPayload(message({ deficiencies: [closed] }), new Date("2026-12-05T11:00:00Z"));
    expect(payload.deficiencies[0]!.approved).toEqual({ by: "Bob Controller", reason: "CHG-1234 year-end close", record: 400 });
    expect(payload.deficiencies[0]!.findings?.[0]?.diff).toMatchObject({ maskedLines: 2 });
  });

  it("who was at the file and who made the change are in the email, the SMS says by whom, the webhook carries both", () => {
    const withWho = [
      {
        ...findings[0]!,
        holders: [{ pid: 4242, via: "open" as const, uid: 1000, user: "alice", exe: "/usr/bin/vim", commandLine: "vim --password=**** ledger.conf" }],
        madeBy: { status: "attributed" as const, changes: [{ at: "2026-12-05T09:01:00.000Z", serial: 77, syscall: "openat", pid: 4242, uid: 1000, user: "alice\nFORGED", auid: 1000, exe: "/usr/bin/vim" }] },
      },
    ];
    const text = plainText(message({ deficiencies: [deficiency({ findings: withWho })] }));
    expect(text).toContain("at the file when seen: pid 4242 has it open, alice (uid 1000), /usr/bin/vim: vim --password=**** ledger.conf");
    expect(text).toContain("made by pid 4242, alice\\nFORGED (uid 1000), login uid 1000, /usr/bin/vim: openat at 2026-12-05T09:01:00.000Z (audit event 77)");
    expect(text).not.toMatch(/^FORGED/m);
    const sms = smsText(message({ deficiencies: [deficiency({ findings: withWho })] }));
    expect(sms).toContain("/etc/ledger/ledger.conf: content, mtime by alice\\nFORGED (/usr/bin/vim);");
    expect(smsSegments(sms)).toBeLessThanOrEqual(2);
    const payload = webhookPayload(message({ deficiencies: [deficiency({ findings: withWho })] }), new Date("2026-12-05T11:00:00Z"));
    expect(payload.deficiencies[0]!.findings?.[0]?.holders?.[0]).toMatchObject({ pid: 4242, commandLine: "vim --password=**** ledger.conf" });
    expect(payload.deficiencies[0]!.findings?.[0]?.madeBy).toMatchObject({ status: "attributed", changes: [{ serial: 77 }] });
    const unavailable = [{ ...findings[0]!, madeBy: { status: "unavailable" as const, reason: "auditd is not running" } }];
    expect(plainText(message({ deficiencies: [deficiency({ findings: unavailable })] }))).toContain("made by: not available: auditd is not running");
  });
});
