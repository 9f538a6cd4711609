// The report channel on a real directory: a digest per stakeholder and period in Markdown and
// JSON, hostile text escaped in the Markdown and kept as written in the JSON, a message written
// once however often it is sent, links never followed, root's rules for the directory, and
// periods cut on the stakeholder's calendar.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import fc from "fast-check";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ReportChannel, Stakeholder } from "../../src/config/types.js";
import type { Delivery, Message } from "../../src/notifiers/contract.js";
import { createChannel, fileStem, type ReportEntry } from "../../src/notifiers/report.js";
import { LOCK_WAIT_MS } from "../../src/notifiers/report-files.js";
import { markdownText } from "../../src/notifiers/report-markdown.js";
import { periodStart } from "../../src/notifiers/report-period.js";
import { oneLine } from "../../src/notifiers/text.js";
import { mountTmpfs, unmountAll } from "../store/mounts.js";
import { fill } from "./harnesses/report.js";
import { context, deficiency, HOSTILE, message } from "./hooks-fixtures.js";

const asRoot = process.getuid?.() === 0;
const security: Stakeholder = { name: "security", people: [], channels: ["digest"], timezone: "America/New_York" };
const auditors: Stakeholder = { name: "auditors", people: [], channels: ["digest"], timezone: "UTC" };

let root: string;
let directory: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "report-"));
  directory = join(root, "reports");
});
afterEach(() => {
  unmountAll();
  rmSync(root, { recursive: true, force: true });
});
afterAll(() => unmountAll());

async function send(m: Message, overrides: Partial<ReportChannel> = {}): Promise<Delivery> {
  const config: ReportChannel = { type: "report", name: "digest", directory, period: "day", formats: ["markdown", "json"], ...overrides };
  const channel = await createChannel(config, context(new Date("2026-12-06T12:00:00.000Z")));
  try {
    return await channel.send(m);
  } finally {
    await channel.close();
  }
}

const read = (name: string) => readFileSync(join(directory, name), "utf8");
const entries = (name: string) => JSON.parse(read(name)) as ReportEntry[];

/** a Markdown table row's cells, split on the pipes that are not escaped */
function cellsOf(row: string): string[] {
  const cells: string[] = [];
  let cell = "";
  for (let i = 0; i < row.length; i++) {
    if (row[i] === "\\") {
      cell += row.slice(i, i + 2);
      i++;
    } else if (row[i] === "|") {
      cells.push(cell);
      cell = "";
    } else cell += row[i];
  }
  cells.push(cell);
  return cells.slice(1, -1).map((c) => c.trim());
}

/** what Markdown shows for escaped text: backslash escapes and the three entities undone */
function shown(text: string): string {
  return text.replace(/\\(.)|&(lt|gt|amp);/g, (_, escaped: string | undefined, entity: string | undefined) => escaped ?? { lt: "<", gt: ">", amp: "&" }[entity!]!);
}

describe("report files", () => {
  it("one Markdown and one JSON digest per stakeholder and day; the directory made 0750, the files 0640, nothing else left", async () => {
    expect(await send(message({ id: "m-1", stakeholder: security, createdAt: "2026-12-05T15:00:00.000Z" }))).toMatchObject({ ok: true, providerId: "security-2026-12-05" });
    await send(message({ id: "m-2", stakeholder: security, createdAt: "2026-12-05T16:00:00.000Z" }));
    await send(message({ id: "m-3", stakeholder: security, createdAt: "2026-12-06T15:00:00.000Z" }));
    await send(message({ id: "m-4", stakeholder: auditors, createdAt: "2026-12-05T15:00:00.000Z" }));
    expect(readdirSync(directory).sort()).toEqual(["auditors-2026-12-05.json", "auditors-2026-12-05.md", "security-2026-12-05.json", "security-2026-12-05.md", "security-2026-12-06.json", "security-2026-12-06.md"]);
    expect(lstatSync(directory).mode & 0o7777).toBe(0o750);
    for (const name of readdirSync(directory)) expect(lstatSync(join(directory, name)).mode & 0o7777).toBe(0o640);
    expect(entries("security-2026-12-05.json").map((e) => e.message_id)).toEqual(["m-1", "m-2"]);
    const md = read("security-2026-12-05.md");
    expect(md.startsWith("# Covenant digest for security, day from 2026-12-05\n")).toBe(true);
    expect(md.match(/^## /gm)).toHaveLength(2);
  });

  it("the JSON digest holds each message's deficiencies as the webhook payload does", async () => {
    const acked = deficiency({ ack: { at: "2026-12-05T10:00:00.000Z", reason: "CHG-1", by: "Alice", user: "alice", loginUid: 1000, record: 1300 } });
    await send(message({ id: "m-json", stakeholder: auditors, deficiencies: [acked], createdAt: "2026-12-05T15:00:00.000Z" }));
    const [entry] = entries("auditors-2026-12-05.json");
    expect(entry).toMatchObject({ message_id: "m-json", kind: "opened", route: "root", group_labels: { control: "ITGC-AC-01" }, stakeholder: "auditors", host: "ledger-01", created_at: "2026-12-05T15:00:00.000Z", written_at: "2026-12-06T12:00:00.000Z" });
    expect(entry!.deficiencies[0]).toMatchObject({ id: "d-7k3q9m2x", status: "open", control: { id: "ITGC-AC-01", owner: "security" }, acknowledged: { by: "Alice", reason: "CHG-1" }, record: 1201 });
  });

  it("the JSON digest's deficiencies match the webhook payload's schema for a deficiency (docs/channels/webhook.md)", async () => {
    const doc = readFileSync(new URL("../../docs/channels/webhook.md", import.meta.url), "utf8");
    const schema = JSON.parse(/```json webhook-payload\.schema\.json\n([\s\S]*?)\n```/.exec(doc)![1]!) as { $id: string };
    const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
    ajv.addFormat("date-time", { validate: (t: string) => !Number.isNaN(Date.parse(t)) });
    ajv.addSchema(schema);
    const validate = ajv.getSchema(`${schema.$id}#/$defs/deficiency`)!;
    const resolved = deficiency({ id: "d-res00001", status: "resolved", resolvedBy: "waived", resolvedAt: "2026-12-05T11:00:00.000Z" });
    await send(message({ stakeholder: auditors, deficiencies: [deficiency(), resolved], createdAt: "2026-12-05T15:00:00.000Z" }));
    const records = entries("auditors-2026-12-05.json")[0]!.deficiencies;
    expect(records).toHaveLength(2);
    for (const r of records) expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...records[0], status: "maybe" })).toBe(false);
  });

  it("file names keep to the directory, whatever the stakeholder is called", () => {
    fc.assert(
      fc.property(fc.string(), (name) => {
        const stem = fileStem(name);
        expect(stem).toMatch(/^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*$/);
      }),
    );
    expect(fileStem("../../etc")).toBe("__.._etc");
  });

  it("only the formats configured", async () => {
    await send(message({ stakeholder: auditors, createdAt: "2026-12-05T15:00:00.000Z" }), { formats: ["json"] });
    expect(readdirSync(directory)).toEqual(["auditors-2026-12-05.json"]);
  });

  it("Markdown escapes outside text: a table row keeps its cells, no HTML, no link, one line; JSON keeps it as written", async () => {
    const hostile = `${HOSTILE}\nnext line | forged | row`;
    const d = deficiency({ reason: hostile, promise: { ...deficiency().promise, promiser: "/srv/a|b`c`<img src=x>" }, differences: ["[x](http://evil)", "\u202eevil\x1b[2J"] });
    await send(message({ stakeholder: auditors, host: "ledger|01<b>", deficiencies: [d], createdAt: "2026-12-05T15:00:00.000Z" }));
    const md = read("auditors-2026-12-05.md");
    expect(md).not.toMatch(/<(?!!--)/);
    expect(md).not.toMatch(/[\x00-\x08\x0b-\x1f\u202e]/);
    expect(md).not.toMatch(/(?<!\\)\[x\]/);
    const rows = md.split("\n").filter((l) => l.startsWith("| d-"));
    expect(rows).toHaveLength(1);
    const cells = cellsOf(rows[0]!);
    expect(cells).toHaveLength(12);
    expect(shown(cells[6]!)).toBe(oneLine(hostile));
    expect(shown(cells[5]!)).toBe("file /srv/a|b`c`<img src=x> (/etc/covenant/policy/access.cov:12)");
    expect(entries("auditors-2026-12-05.json")[0]!.deficiencies[0]!.reason).toBe(hostile);
    expect(entries("auditors-2026-12-05.json")[0]!.host).toBe("ledger|01<b>");
  });

  it("markdownText: any text shows as written, on one line, with no HTML and no pipe that ends a cell", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const escaped = markdownText(text);
        expect(escaped).not.toMatch(/[\n\r<>]/);
        expect(cellsOf(`| ${escaped} |`)).toHaveLength(1);
        expect(shown(escaped)).toBe(oneLine(text));
      }),
    );
  });
});

describe("a message sent again", () => {
  it("is written once (a resend after a crash)", async () => {
    const m = message({ stakeholder: auditors, createdAt: "2026-12-05T15:00:00.000Z" });
    expect(await send(m)).toMatchObject({ ok: true, detail: expect.stringContaining("added to auditors-2026-12-05.md, auditors-2026-12-05.json") as unknown });
    expect(await send(m)).toMatchObject({ ok: true, detail: expect.stringContaining("already in auditors-2026-12-05.md, auditors-2026-12-05.json") as unknown });
    expect(entries("auditors-2026-12-05.json")).toHaveLength(1);
    expect(read("auditors-2026-12-05.md").match(/^## /gm)).toHaveLength(1);
  });

  it("completes a digest the crash left without it, and leaves the other alone", async () => {
    const m = message({ stakeholder: auditors, createdAt: "2026-12-05T15:00:00.000Z" });
    await send(m);
    const json = read("auditors-2026-12-05.json");
    rmSync(join(directory, "auditors-2026-12-05.md"));
    expect(await send(m)).toMatchObject({ ok: true, detail: expect.stringMatching(/added to auditors-2026-12-05\.md; already in auditors-2026-12-05\.json/) as unknown });
    expect(read("auditors-2026-12-05.json")).toBe(json);
    expect(read("auditors-2026-12-05.md").match(/^## /gm)).toHaveLength(1);
  });
});

describe("writers at the same time", () => {
  it("two processes adding to one digest lose nothing: each message is there once", async () => {
    const writer = fileURLToPath(new URL("./report-writer.ts", import.meta.url));
    const run = (prefix: string) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", writer, directory, prefix, "40"], { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        child.on("close", (code) => resolve({ code, stderr }));
      });
    const results = await Promise.all([run("m-a"), run("m-b")]);
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    const ids = entries("auditors-2026-12-05.json").map((e) => e.message_id);
    expect(ids).toHaveLength(80);
    expect(new Set(ids).size).toBe(80);
    expect(read("auditors-2026-12-05.md").match(/^## /gm)).toHaveLength(80);
    expect(readdirSync(directory).sort()).toEqual(["auditors-2026-12-05.json", "auditors-2026-12-05.md"]);
  }, 60_000);

  it("a lock left by a writer that died is taken over", async () => {
    mkdirSync(directory, { mode: 0o750 });
    // a pid no process has: past the kernel's largest
    writeFileSync(join(directory, ".auditors-2026-12-05.lock"), "4194305\n");
    expect(await send(message({ stakeholder: auditors, createdAt: "2026-12-05T15:00:00.000Z" }))).toMatchObject({ ok: true });
    expect(existsSync(join(directory, ".auditors-2026-12-05.lock"))).toBe(false);
  });

  it("a lock held by a live writer is waited for, then the message is left for a retry", async () => {
    mkdirSync(directory, { mode: 0o750 });
    writeFileSync(join(directory, ".auditors-2026-12-05.lock"), `${process.pid}\n`);
    const started = Date.now();
    const d = await send(message({ stakeholder: auditors, createdAt: "2026-12-05T15:00:00.000Z" }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(LOCK_WAIT_MS);
    expect(d).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining("another writer held the digest for too long") as unknown });
  });
});

describe("links and root's rules", () => {
  it("refuses a directory that is a symbolic link, and writes nothing through it", async () => {
    const elsewhere = join(root, "elsewhere");
    mkdirSync(elsewhere, { mode: 0o750 });
    symlinkSync(elsewhere, directory);
    const d = await send(message({ stakeholder: auditors }));
    expect(d).toEqual({ ok: false, retryable: false, error: `the report directory ${directory} is a symbolic link, which is not followed; fix: name the directory it leads to` });
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it("refuses a digest that is a symbolic link, and leaves what it points to alone", async () => {
    mkdirSync(directory, { mode: 0o750 });
    const target = join(root, "shadow");
    writeFileSync(target, "precious\n");
    symlinkSync(target, join(directory, "auditors-2026-12-05.md"));
    const d = await send(message({ stakeholder: auditors, createdAt: "2026-12-05T15:00:00.000Z" }));
    expect(d).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining("is a symbolic link, which is not followed") as unknown });
    expect(readFileSync(target, "utf8")).toBe("precious\n");
  });

  it("refuses a JSON digest that is not an array, and leaves it as it is", async () => {
    mkdirSync(directory, { mode: 0o750 });
    writeFileSync(join(directory, "auditors-2026-12-05.json"), "{ damaged");
    const d = await send(message({ stakeholder: auditors, createdAt: "2026-12-05T15:00:00.000Z" }), { formats: ["json"] });
    expect(d).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining("is not a JSON array (damaged?): move it aside") as unknown });
    expect(read("auditors-2026-12-05.json")).toBe("{ damaged");
  });

  it.runIf(asRoot)("as root, refuses a directory another user owns or others can write", async () => {
    mkdirSync(directory, { mode: 0o750 });
    chownSync(directory, 1000, 0);
    expect(await send(message({ stakeholder: auditors }))).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining("is owned by uid 1000, not root") as unknown });
    chownSync(directory, 0, 0);
    chmodSync(directory, 0o770);
    expect(await send(message({ stakeholder: auditors }))).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining("is writable by its group (mode 0770)") as unknown });
    expect(readdirSync(directory)).toEqual([]);
  });

  it.runIf(asRoot)("as root, refuses a directory below one that others can write", async () => {
    const open = join(root, "open");
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    directory = join(open, "reports");
    expect(await send(message({ stakeholder: auditors }))).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining(`the directory ${open}, on the way to the report directory`) as unknown });
    expect(existsSync(directory)).toBe(false);
  });

  it("a full disk is worth a retry, and says so", async (ctx) => {
    mkdirSync(directory, { mode: 0o750 });
    const mounted = mountTmpfs(directory, "64k");
    if (!mounted.ok) return ctx.skip();
    fill(directory);
    const d = await send(message({ stakeholder: auditors, createdAt: "2026-12-05T15:00:00.000Z" }));
    expect(d).toEqual({ ok: false, retryable: true, error: `the report in ${directory} could not be written: no space left on the device (ENOSPC)` });
    expect(readdirSync(directory).filter((n) => !n.startsWith("filler-"))).toEqual([]);
  });
});

describe("periods on the stakeholder's calendar", () => {
  it("a day ends at the stakeholder's midnight", async () => {
    await send(message({ id: "m-late", stakeholder: security, createdAt: "2026-12-06T04:59:59.000Z" }));
    await send(message({ id: "m-next", stakeholder: security, createdAt: "2026-12-06T05:00:00.000Z" }));
    expect(entries("security-2026-12-05.json").map((e) => e.message_id)).toEqual(["m-late"]);
    expect(entries("security-2026-12-06.json").map((e) => e.message_id)).toEqual(["m-next"]);
  });

  it("days across a change of clocks, weeks from Monday, months from the first", () => {
    expect(periodStart(new Date("2026-03-09T03:59:00Z"), "day", "America/New_York")).toBe("2026-03-08");
    expect(periodStart(new Date("2026-03-09T04:00:00Z"), "day", "America/New_York")).toBe("2026-03-09");
    expect(periodStart(new Date("2026-12-05T12:00:00Z"), "week", "UTC")).toBe("2026-11-30");
    expect(periodStart(new Date("2026-12-07T04:59:00Z"), "week", "America/New_York")).toBe("2026-11-30");
    expect(periodStart(new Date("2026-12-07T05:00:00Z"), "week", "America/New_York")).toBe("2026-12-07");
    expect(periodStart(new Date("2027-01-01T12:00:00Z"), "week", "UTC")).toBe("2026-12-28");
    expect(periodStart(new Date("2026-11-30T10:59:59Z"), "month", "Pacific/Auckland")).toBe("2026-11-01");
    expect(periodStart(new Date("2026-11-30T11:00:00Z"), "month", "Pacific/Auckland")).toBe("2026-12-01");
  });

  it("any time: the period holds it, and starts on a Monday for a week and on the first for a month", () => {
    const zones = ["UTC", "America/New_York", "Pacific/Auckland", "Asia/Kolkata", "Pacific/Kiritimati", "America/St_Johns"];
    fc.assert(
      fc.property(fc.date({ min: new Date("1990-01-01"), max: new Date("2090-01-01"), noInvalidDate: true }), fc.constantFrom(...zones), (at, zone) => {
        const day = periodStart(at, "day", zone);
        const week = periodStart(at, "week", zone);
        const month = periodStart(at, "month", zone);
        const dayMs = Date.parse(`${day}T00:00:00Z`);
        expect(new Date(`${week}T00:00:00Z`).getUTCDay()).toBe(1);
        expect((dayMs - Date.parse(`${week}T00:00:00Z`)) / 86_400_000).toBeGreaterThanOrEqual(0);
        expect((dayMs - Date.parse(`${week}T00:00:00Z`)) / 86_400_000).toBeLessThan(7);
        expect(month).toBe(`${day.slice(0, 7)}-01`);
        // the local date is within a day of the UTC date (no zone is more than 14 hours off)
        expect(Math.abs(dayMs - Date.parse(`${at.toISOString().slice(0, 10)}T00:00:00Z`))).toBeLessThanOrEqual(86_400_000);
      }),
    );
  });

  it("a time zone Intl does not know is not retried", async () => {
    const d = await send(message({ stakeholder: { ...auditors, timezone: "Mars/Olympus_Mons" } }));
    expect(d).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining("the report could not be dated") as unknown });
  });
});
