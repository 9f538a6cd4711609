// The Alertmanager channel: each deficiency of a message posted as one alert to an existing
// Alertmanager's /api/v2/alerts (docs/channels/alertmanager.md), for sites that already route
// with it. Alertmanager identifies an alert by its labels, so the labels hold what identifies
// and routes a deficiency (its id, control, severity, owner, host) and nothing that changes
// while it is open; what changes goes into annotations.
//
// Alertmanager resolves an alert by itself once its endsAt passes, or resolve_timeout (5 minutes
// by default) after it was last posted when endsAt is absent. Prometheus re-posts every minute;
// Covenant writes only when something changed or a reminder is due, so an open deficiency is
// posted with an endsAt a day ahead (OPEN_HORIZON_MS), renewed by every later message. A resolved
// one is posted with endsAt = when it was resolved. A notice (found and undone) is posted firing
// for NOTICE_FIRING_MS from the time it is sent: Alertmanager never notifies about an alert that
// arrives already resolved, so a notice posted with endsAt = openedAt would reach nobody.
import type { AlertmanagerChannel } from "../config/types.js";
import type { Channel, ChannelContext, ChannelFactory, Deficiency, Delivery, Message } from "./contract.js";
import { deliveryOf, originOf, postJson } from "./http.js";
import { cut, oneLine, shortReason, userAgent } from "./text.js";

export const OPEN_HORIZON_MS = 24 * 3600_000;
export const NOTICE_FIRING_MS = 3600_000;
/** label values are kept short: Alertmanager and its receivers show them everywhere */
const LABEL_MAX = 100;
const ANNOTATION_MAX = 2000;

export interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

const label = (text: string) => cut(oneLine(text), LABEL_MAX);

function lines(items: string[]): string {
  return cut(items.map(oneLine).join("\n"), ANNOTATION_MAX);
}

/** The alert for one deficiency, as sent at `now`. */
export function alertOf(d: Deficiency, now: Date): Alert {
  const labels: Record<string, string> = {
    alertname: d.notice ? "CovenantNotice" : "CovenantDeficiency",
    control: label(d.control.id),
    severity: d.control.severity,
    host: label(d.host),
    promise_type: label(d.promise.type),
    deficiency: d.id,
    key_control: d.control.key ? "true" : "false",
  };
  if (d.control.owner) labels["owner"] = label(d.control.owner);
  const observed = [...d.differences, ...d.changes];
  const annotations: Record<string, string> = {
    title: cut(oneLine(d.control.title), 300),
    summary: `${d.notice ? "repaired" : d.outcome}: ${oneLine(d.promise.type)} ${cut(oneLine(d.promise.promiser), 200)}: ${shortReason(d, 200)}`,
    description: lines(observed.length > 0 ? observed : [d.reason]),
    promised: lines(d.promised),
    outcome: d.outcome,
    record: String(d.lastRecord),
  };
  if (d.ack) annotations["acknowledged"] = cut(oneLine(`by ${d.ack.by} at ${d.ack.at}: ${d.ack.reason}`), 500);
  return { labels, annotations, startsAt: d.openedAt, endsAt: endOf(d, now) };
}

function endOf(d: Deficiency, now: Date): string {
  if (d.notice) return new Date(now.getTime() + NOTICE_FIRING_MS).toISOString();
  if (d.status === "resolved") return d.resolvedAt ?? now.toISOString();
  return new Date(now.getTime() + OPEN_HORIZON_MS).toISOString();
}

export const createChannel: ChannelFactory = async (config, ctx) => {
  if (config.type !== "alertmanager") throw new Error(`the alertmanager channel was given a ${config.type} channel's configuration`);
  const password = config.auth ? ctx.readSecret(config.auth.password, `the password of channel ${config.name}`) : undefined;
  return new Alertmanager(config, ctx, password);
};

class Alertmanager implements Channel {
  private readonly url: URL;
  private readonly receiver: string;

  private readonly headers: Record<string, string> = { "Content-Type": "application/json", "User-Agent": userAgent };
  /** what no error may show: the password, and the header value that carries it */
  private readonly secrets: string[] = [];

  constructor(
    readonly config: AlertmanagerChannel,
    private readonly ctx: ChannelContext,
    password: string | undefined,
  ) {
    const base = new URL(config.url);
    this.url = new URL(`${base.pathname.replace(/\/+$/, "")}/api/v2/alerts`, base);
    this.receiver = `Alertmanager at ${originOf(base)}`;
    if (config.auth && password !== undefined) {
      const token = Buffer.from(`${config.auth.user}:${password}`, "utf8").toString("base64");
      this.headers["Authorization"] = `Basic ${token}`;
      this.secrets.push(password, token);
    }
  }

  async send(message: Message): Promise<Delivery> {
    try {
      const now = this.ctx.now();
      const body = JSON.stringify(message.deficiencies.map((d) => alertOf(d, now)));
      return deliveryOf(await postJson(this.url, body, this.headers, this.config.timeoutMs), this.receiver, this.secrets, now.getTime());
    } catch (err) {
      // never thrown at the dispatcher: a message that cannot be made into alerts fails the same way next time
      const error = `${this.receiver}: the message could not be sent (${oneLine((err as Error).message)})`;
      return { ok: false, retryable: false, error: this.secrets.reduce((t, s) => t.split(s).join("[secret]"), error) };
    }
  }

  async close(): Promise<void> {}
}
