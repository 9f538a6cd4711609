// Deficiencies and messages for the webhook, Alertmanager and report channels' tests, and a
// channel context whose secrets come from real files and whose clock the test sets.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChannelContext, Deficiency, Message } from "../../src/notifiers/contract.js";
import type { SecretRef } from "../../src/config/types.js";

export const OPENED_AT = "2026-12-05T09:14:00.000Z";

export function deficiency(overrides: Partial<Deficiency> = {}): Deficiency {
  return {
    id: "d-7k3q9m2x",
    key: "ITGC-AC-01/file//etc/shadow",
    notice: false,
    status: "open",
    outcome: "drift",
    host: "ledger-01",
    control: { id: "ITGC-AC-01", title: "Access to credentials is restricted", owner: "security", severity: "critical", key: true },
    promise: { type: "file", promiser: "/etc/shadow", stakeholders: ["security"], dependsOn: [], file: "/etc/covenant/policy/access.cov", line: 12 },
    promised: ["mode = 0640", "owner = root"],
    reason: "mode is 0644, promised 0640",
    differences: ["mode: 0644 (promised 0640)"],
    changes: ["held: mode change needs approval"],
    openedAt: OPENED_AT,
    openedRun: 41,
    openedRecord: 1201,
    lastRecord: 1201,
    updatedAt: OPENED_AT,
    ...overrides,
  };
}

export function message(overrides: Partial<Message> = {}): Message {
  return {
    id: "m-4f6a1c9e0b2d7h3k",
    kind: "opened",
    route: "root",
    groupKey: '{control="ITGC-AC-01"}',
    groupLabels: { control: "ITGC-AC-01" },
    previous: [],
    host: "ledger-01",
    deficiencies: [deficiency()],
    stakeholder: { name: "siem", people: [], channels: ["hook"] },
    createdAt: "2026-12-05T09:15:00.000Z",
    ...overrides,
  };
}

/** Outside text that breaks what does not escape it, yet must arrive as written where JSON carries it. */
export const HOSTILE = `O'Brien "quoted" <script>alert(1)</script> | pipe | \`tick\` [link](javascript:x) **bold** # é ü 中文 🙂 & &amp;`;

/** A secret in a real file (0600), as `secret_file:` names it. */
export function secretFile(secret: string): SecretRef {
  const dir = mkdtempSync(join(tmpdir(), "hook-secret-"));
  const path = join(dir, "hook.key");
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return { file: path };
}

export interface TestContext extends ChannelContext {
  at: Date;
}

/** readSecret reads the file or variable named, as the loader's would; now() is `at`, which the test may move. */
export function context(at = new Date("2026-12-05T09:15:30.000Z")): TestContext {
  const ctx: TestContext = {
    at,
    now: () => ctx.at,
    readSecret(ref) {
      if ("file" in ref) return readFileSync(ref.file, "utf8").trim();
      const value = process.env[ref.env];
      if (value === undefined) throw new Error(`${ref.env} is not set`);
      return value;
    },
  };
  return ctx;
}

/** As H4's test/notifiers/messages.ts: line breaks, markup, terminal escapes, a bidi override, non-Latin script. */
export const HOSTILE_REASON = 'owner is "mallory"\nRESOLVED: all fine <script>alert(1)</script> \u001b[31mred\u001b[0m \u202eevil 帳簿 Журнал';

export function hostileMessage(): Message {
  const d = deficiency({
    id: "d-hst1le00",
    reason: HOSTILE_REASON,
    promise: { type: "file", promiser: "/srv/<b>x</b>\n/etc/passwd", stakeholders: ["security"], dependsOn: [], file: "policies/ledger.cov", line: 3 },
    differences: ["content: line 1 is \u001b]0;pwned\u0007 <img src=x onerror=alert(1)>"],
    ack: { at: "2026-12-05T10:00:00.000Z", reason: "known </td></table><h1>forged</h1>", by: "Зоя", user: "zoya", loginUid: 1001, record: 320 },
  });
  return message({ id: "m-hostile000000000", deficiencies: [d] });
}
