// The run report's notifications, per deficiency: in the order routing gave the audience, whatever
// order the channels' servers answered in (a run's report must not change with their timing).
import { describe, expect, it } from "vitest";
import { toldPerDeficiency } from "../../src/cli/notify-report.ts";
import type { DispatchReport, SentMessage } from "../../src/notifiers/dispatch.ts";

const sent = (channel: string, recipient: string, status: SentMessage["status"], id = "d-1"): SentMessage => ({ id: `m-${channel}`, channel, recipient, kind: "deficiency" as SentMessage["kind"], deficiencies: [id], status, attempts: 1, detail: status === "sent" ? "" : `${channel}: connection refused` });

function report(deliveries: SentMessage[], audience: string[]): DispatchReport {
  return { planned: deliveries.length, deliveries, leftOver: 0, inhibited: [], audience: { "d-1": audience }, unusable: [], failingChannels: [], deficiencies: {} };
}

describe("toldPerDeficiency", () => {
  it("lists each deficiency's recipients in the audience's order, not the order deliveries ended in", () => {
    const audience = ["ops/digest", "ops/hook", "ops/am", "ops/mail/olga@example.com"];
    const orders = [
      [sent("am", "ops", "retrying"), sent("hook", "ops", "retrying"), sent("digest", "ops", "sent")],
      [sent("digest", "ops", "sent"), sent("hook", "ops", "retrying"), sent("am", "ops", "retrying")],
      [sent("hook", "ops", "retrying"), sent("am", "ops", "retrying"), sent("digest", "ops", "sent")],
    ];
    const lists = orders.map((deliveries) => toldPerDeficiency(report(deliveries, audience)).get("d-1")!.map((t) => `${t.channel}:${t.status}`));
    for (const list of lists) expect(list).toEqual(["digest:sent", "hook:retrying", "am:retrying", "mail:later"]);
  });

  it("keeps a recipient routing did not name after those it did, in the order it came", () => {
    const told = toldPerDeficiency(report([sent("extra", "ops", "sent"), sent("am", "ops", "sent")], ["ops/am"])).get("d-1")!;
    expect(told.map((t) => t.channel)).toEqual(["am", "extra"]);
  });
});
