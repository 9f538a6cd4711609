// The Alertmanager channel against the real Alertmanager (Debian's prometheus-alertmanager,
// started on 127.0.0.1 by test/helpers/alertmanager.ts): the alerts arrive with Covenant's labels
// and annotations, read back through Alertmanager's own API; a resolved deficiency ends its
// alert; a notice fires once; and the example route in the docs sends Covenant's labels where
// the docs say.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertmanagerChannel } from "../../src/config/types.js";
import type { Deficiency, Message } from "../../src/notifiers/contract.js";
import { alertOf, createChannel, NOTICE_FIRING_MS, OPEN_HORIZON_MS } from "../../src/notifiers/alertmanager.js";
import { routeReceivers, startAlertmanager, type AlertmanagerAlert, type RunningAlertmanager } from "../helpers/alertmanager.js";
import { context, deficiency, HOSTILE, message } from "./hooks-fixtures.js";

let am: RunningAlertmanager;
beforeAll(async () => {
  am = await startAlertmanager();
}, 60_000);
afterAll(async () => {
  await am?.stop();
});

async function post(m: Message, now = new Date()) {
  const config: AlertmanagerChannel = { type: "alertmanager", name: "am", url: `${am.url}/`, timeoutMs: 5000 };
  const channel = await createChannel(config, context(now));
  try {
    return await channel.send(m);
  } finally {
    await channel.close();
  }
}

async function alertFor(id: string): Promise<AlertmanagerAlert | undefined> {
  return (await am.alerts()).find((a) => a.labels["deficiency"] === id);
}

describe("alerts in the real Alertmanager", () => {
  it("one per deficiency, with Covenant's labels and annotations, read back through its API", async () => {
    const keyed = deficiency({ id: "d-am000001" });
    const ownerless = deficiency({ id: "d-am000002", outcome: "error", control: { id: "SOX-404-7", title: "Backups run nightly", severity: "medium", key: false }, promise: { ...keyed.promise, type: "command", promiser: "backup-check" } });
    const now = new Date();
    expect(await post(message({ deficiencies: [keyed, ownerless] }), now)).toMatchObject({ ok: true });
    const first = await alertFor("d-am000001");
    expect(first?.labels).toEqual({ alertname: "CovenantDeficiency", deficiency: "d-am000001", control: "ITGC-AC-01", severity: "critical", owner: "security", host: "ledger-01", promise_type: "file", key_control: "true" });
    expect(first?.annotations).toEqual({
      title: "Access to credentials is restricted",
      summary: "drift: file /etc/shadow: mode is 0644, promised 0640",
      description: "mode: 0644 (promised 0640)\nheld: mode change needs approval",
      promised: "mode = 0640\nowner = root",
      outcome: "drift",
      record: "1201",
    });
    expect(Date.parse(first!.startsAt)).toBe(Date.parse(keyed.openedAt));
    expect(Date.parse(first!.endsAt)).toBe(now.getTime() + OPEN_HORIZON_MS);
    expect(first?.status.state).toBe("active");
    const second = await alertFor("d-am000002");
    expect(second?.labels).toEqual({ alertname: "CovenantDeficiency", deficiency: "d-am000002", control: "SOX-404-7", severity: "medium", host: "ledger-01", promise_type: "command", key_control: "false" });
    expect(second?.annotations["summary"]).toBe("error: command backup-check: mode is 0644, promised 0640");
  });

  it("a resolved deficiency ends its alert: endsAt is when it was resolved, and Alertmanager no longer lists it", async () => {
    const open = deficiency({ id: "d-am000003" });
    expect(await post(message({ deficiencies: [open] }))).toMatchObject({ ok: true });
    expect((await alertFor("d-am000003"))?.status.state).toBe("active");
    const resolvedAt = new Date(Date.now() - 60_000).toISOString();
    const resolved: Deficiency = { ...open, status: "resolved", resolvedBy: "kept", resolvedAt, resolvedRun: 42 };
    expect(alertOf(resolved, new Date()).endsAt).toBe(resolvedAt);
    expect(await post(message({ kind: "resolved", deficiencies: [resolved] }))).toMatchObject({ ok: true });
    expect(await alertFor("d-am000003")).toBeUndefined();
  });

  it("a notice is its own alertname, and fires for an hour so that Alertmanager tells someone", async () => {
    const now = new Date();
    const notice = deficiency({ id: "d-am000004", notice: true, status: "resolved", outcome: "repaired", resolvedBy: "repaired", resolvedAt: new Date(now.getTime() - 5000).toISOString(), openedAt: new Date(now.getTime() - 5000).toISOString() });
    expect(await post(message({ deficiencies: [notice] }), now)).toMatchObject({ ok: true });
    const alert = await alertFor("d-am000004");
    expect(alert?.labels["alertname"]).toBe("CovenantNotice");
    expect(alert?.status.state).toBe("active");
    expect(Date.parse(alert!.endsAt)).toBe(now.getTime() + NOTICE_FIRING_MS);
    expect(alert?.annotations["summary"]).toMatch(/^repaired: /);
  });

  it("label values are short single lines; annotations keep outside text as written, control characters escaped", async () => {
    const hostile = deficiency({ id: "d-am000005", host: `ledger\n01 ${"h".repeat(300)}`, reason: HOSTILE, promise: { ...deficiency().promise, promiser: `/srv/x\u202eevil` } });
    expect(await post(message({ deficiencies: [hostile] }))).toMatchObject({ ok: true });
    const alert = await alertFor("d-am000005");
    for (const value of Object.values(alert!.labels)) {
      expect(Array.from(value).length).toBeLessThanOrEqual(100);
      expect(value).not.toMatch(/[\n\u202e]/);
    }
    expect(alert!.labels["host"]).toMatch(/^ledger\\n01 h+…$/);
    expect(alert!.annotations["summary"]).toBe(`drift: file /srv/x\\u202eevil: ${HOSTILE}`);
  });

  it("an acknowledgement shows as an annotation", async () => {
    const acked = deficiency({ id: "d-am000006", ack: { at: "2026-12-05T10:00:00.000Z", reason: "change ticket CHG-1", by: "Alice Admin", user: "alice", loginUid: 1000, record: 1300 } });
    await post(message({ deficiencies: [acked] }));
    expect((await alertFor("d-am000006"))?.annotations["acknowledged"]).toBe("by Alice Admin at 2026-12-05T10:00:00.000Z: change ticket CHG-1");
  });

  it("Alertmanager's refusal of an alert is not retried", async () => {
    // an alert without labels is what Alertmanager refuses (400); Covenant never makes one, so post one past the channel
    const res = await fetch(`${am.url}/api/v2/alerts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify([{ labels: {} }]) });
    expect(res.status).toBe(400);
    const { deliveryOf } = await import("../../src/notifiers/http.js");
    expect(deliveryOf({ kind: "answer", status: res.status, statusText: res.statusText, body: await res.text() }, "Alertmanager", [], 0)).toMatchObject({ ok: false, retryable: false });
  });
});

describe("the example route in docs/channels/alertmanager.md", () => {
  const doc = readFileSync(new URL("../../docs/channels/alertmanager.md", import.meta.url), "utf8");
  const config = /```yaml alertmanager\.yml\n([\s\S]*?)\n```/.exec(doc)![1]!;
  const receivers = (d: Deficiency) => routeReceivers(config, alertOf(d, new Date()).labels);

  it("sends Covenant's alerts where the docs say", () => {
    expect(receivers(deficiency())).toBe("sox-pager,security-team");
    expect(receivers(deficiency({ control: { id: "X", title: "t", owner: "security", severity: "high", key: true } }))).toBe("security-team");
    expect(receivers(deficiency({ control: { id: "X", title: "t", owner: "finance", severity: "high", key: true } }))).toBe("sox-team");
    expect(receivers(deficiency({ notice: true, outcome: "repaired", control: { id: "X", title: "t", severity: "low", key: false } }))).toBe("sox-team");
    expect(routeReceivers(config, { alertname: "NodeDown" })).toBe("default");
  });

  it("is a configuration the real Alertmanager starts with", async () => {
    const other = await startAlertmanager(config);
    await other.stop();
  }, 60_000);
});

describe("basic authentication", () => {
  it("is sent when configured; a wrong password is refused (401), not retried, and appears in no error", async () => {
    const { alertmanagerHarness } = await import("./harnesses/alertmanager.js");
    const { secretFile } = await import("./hooks-fixtures.js");
    const h = await alertmanagerHarness();
    try {
      const right = await h.make();
      expect(await right.send(message({ deficiencies: [deficiency({ id: "d-auth0001" })] }))).toMatchObject({ ok: true });
      expect((await h.alertmanager.alerts()).some((a) => a.labels["deficiency"] === "d-auth0001")).toBe(true);
      const port = new URL(right.config.type === "alertmanager" ? right.config.url : "").port;
      const wrong = await createChannel({ type: "alertmanager", name: "am", url: `http://127.0.0.1:${port}`, auth: { user: "covenant", password: secretFile("wrong-password-9f1c") }, timeoutMs: 5000 }, context(new Date()));
      const d = await wrong.send(message({ deficiencies: [deficiency({ id: "d-auth0002" })] }));
      expect(d).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining("answered 401") as unknown });
      expect(JSON.stringify(d)).not.toContain("wrong-password-9f1c");
      expect(JSON.stringify(d)).not.toContain(Buffer.from("covenant:wrong-password-9f1c").toString("base64"));
    } finally {
      await h.stop();
    }
  }, 60_000);

  it("a URL with credentials in it is refused, without showing them", async () => {
    const channel = await createChannel({ type: "alertmanager", name: "am", url: `http://covenant:inline-pass-77@127.0.0.1:1`, timeoutMs: 1000 }, context(new Date()));
    const d = await channel.send(message());
    expect(d).toMatchObject({ ok: false, retryable: false });
    expect(JSON.stringify(d)).not.toContain("inline-pass-77");
  });
});
