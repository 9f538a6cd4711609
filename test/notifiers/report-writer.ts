// A writer process for report.test.ts's concurrency test: sends `count` messages, ids
// `${prefix}-0` … , through a report channel on `directory`, as a run and a `notify flush` would.
import { createChannel } from "../../src/notifiers/report.js";
import { context, message } from "./hooks-fixtures.js";

const [directory, prefix, count] = process.argv.slice(2) as [string, string, string];
const channel = await createChannel({ type: "report", name: "digest", directory, period: "day", formats: ["markdown", "json"] }, context(new Date()));
const stakeholder = { name: "auditors", people: [], channels: ["digest"], timezone: "UTC" };
for (let i = 0; i < Number(count); i++) {
  const d = await channel.send(message({ id: `${prefix}-${i}`, stakeholder, createdAt: "2026-12-05T15:00:00.000Z" }));
  if (!d.ok) {
    process.stderr.write(`${d.error}\n`);
    process.exit(1);
  }
}
