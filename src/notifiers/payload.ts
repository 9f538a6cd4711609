// The webhook's JSON payload, version 1 (docs/channels/webhook.md holds its JSON Schema, which
// the tests validate against): snake_case, every field always present (null when unknown), so a
// receiver written once keeps working. Adding a field is not a new version; renaming, removing or
// changing the meaning of one is. The report channel's JSON files hold the same deficiency records.
import type { RecordedFinding } from "../store/records.js";
import type { Deficiency, Message } from "./contract.js";

export const PAYLOAD_VERSION = 1;

export interface DeficiencyRecord {
  id: string;
  status: "open" | "resolved";
  notice: boolean;
  outcome: string;
  resolved_by: string | null;
  control: { id: string; title: string; owner: string | null; severity: string; key: boolean };
  promise: { type: string; promiser: string; file: string; line: number };
  promised: string[];
  reason: string;
  differences: string[];
  changes: string[];
  opened_at: string;
  resolved_at: string | null;
  acknowledged: { by: string; at: string; reason: string } | null;
  /** the history record (ledger seq) of the latest change */
  record: number;
  findings?: RecordedFinding[];
  approved?: { by: string; reason: string; record: number };
}

export interface WebhookPayload {
  version: typeof PAYLOAD_VERSION;
  id: string;
  kind: Message["kind"];
  host: string;
  route: string;
  group_key: string;
  group_labels: Record<string, string>;
  stakeholder: string;
  sent_at: string;
  deficiencies: DeficiencyRecord[];
}

export function deficiencyRecord(d: Deficiency): DeficiencyRecord {
  return {
    id: d.id,
    status: d.status,
    notice: d.notice,
    outcome: d.outcome,
    resolved_by: d.resolvedBy ?? null,
    control: { id: d.control.id, title: d.control.title, owner: d.control.owner ?? null, severity: d.control.severity, key: d.control.key },
    promise: { type: d.promise.type, promiser: d.promise.promiser, file: d.promise.file, line: d.promise.line },
    promised: [...d.promised],
    reason: d.reason,
    differences: [...d.differences],
    changes: [...d.changes],
    opened_at: d.openedAt,
    resolved_at: d.resolvedAt ?? null,
    acknowledged: d.ack ? { by: d.ack.by, at: d.ack.at, reason: d.ack.reason } : null,
    record: d.lastRecord,
    // file-integrity deficiencies (issue 15): what changed in AIDE's terms and the masked diff; who approved the change that closed it
    ...(d.findings && d.findings.length > 0 ? { findings: d.findings.map((f) => ({ ...f })) } : {}),
    ...(d.approval ? { approved: { ...d.approval } } : {}),
  };
}

export function webhookPayload(message: Message, sentAt: Date): WebhookPayload {
  return {
    version: PAYLOAD_VERSION,
    id: message.id,
    kind: message.kind,
    host: message.host,
    route: message.route,
    group_key: message.groupKey,
    group_labels: { ...message.groupLabels },
    stakeholder: message.stakeholder.name,
    sent_at: sentAt.toISOString(),
    deficiencies: message.deficiencies.map(deficiencyRecord),
  };
}
