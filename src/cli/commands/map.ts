// `covenant map`: the knowledge map of a checked policy (src/report/map-graph.ts), as HTML, JSON
// or DOT, with each promise's latest outcome overlaid when a store is there to read. The store is
// opened read-only, as `covenant history` opens it: beside a running run, or on a copy.
import { accessSync, constants, existsSync } from "node:fs";
import { loadConfig } from "../../config/load.js";
import { buildMap, type MapOverlay } from "../../report/map-graph.js";
import { renderDot } from "../../report/map-dot.js";
import { renderHtml } from "../../report/map-html.js";
import { latestOutcomes } from "../../report/map-outcomes.js";
import { defaultStateDir } from "../../store/state-dir.js";
import { StateStore, StoreError } from "../../store/store.js";
import { loadCheckedPolicy } from "../checked-policy.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { writeReport } from "../report-file.js";

export interface MapOptions {
  format: "html" | "json" | "dot";
  out?: string;
  /** the state directory; without it, the default one is read when it is there; false: none (--no-state) */
  state?: string | false;
  include: string[];
  config?: string;
  maxFileSize: number;
  today?: string;
}

/** The store's latest outcomes; undefined when there is no store to read (only an error when --state named one). */
function readOverlay(opts: MapOptions, io: Io): (MapOverlay & { tampered: boolean }) | undefined | number {
  if (opts.state === false) return undefined;
  const dir = opts.state ?? defaultStateDir();
  if (opts.state === undefined) {
    // the default state directory is read only when it is there and this user may read it
    try {
      accessSync(dir, constants.R_OK | constants.X_OK);
    } catch {
      return undefined;
    }
    if (!existsSync(`${dir}/state.db`)) return undefined;
  }
  let store: StateStore | undefined;
  try {
    store = StateStore.openReadOnly(dir);
    const { outcomes, unverified, end } = latestOutcomes(store);
    if (end !== undefined) io.err(`covenant map: TAMPERED: ${escapeText(end)}; run \`covenant verify\``);
    if (unverified > 0) io.err(`covenant map: ${unverified} record${unverified === 1 ? "" : "s"} of the history failed ${unverified === 1 ? "its" : "their"} check and ${unverified === 1 ? "was" : "were"} passed over; run \`covenant verify\``);
    return { state: dir, outcomes, tampered: end !== undefined || unverified > 0 };
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    io.err(`covenant map: ${escapeText(err.message)}`);
    return EXIT.policyError;
  } finally {
    store?.close();
  }
}

/** With --config: each stakeholder's channels, by name (never an address or a secret). */
function readReach(path: string, io: Io): Map<string, string[]> | number {
  // only the channels' names are read: the secret files they name are not the map's to judge
  const loaded = loadConfig(path, { checkSecretFiles: false });
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  if (!loaded.config || errors.length > 0) {
    for (const d of errors) io.err(`${escapeText(d.file)}:${d.line}:${d.column}: error[${d.code}]: ${escapeText(d.message)}`);
    io.err(`covenant map: the configuration ${escapeText(path)} has errors (see \`covenant check --config\`)`);
    return EXIT.policyError;
  }
  return new Map([...loaded.config.stakeholders].map(([name, s]) => [name, [...s.channels]]));
}

export function runMap(paths: string[], opts: MapOptions, io: Io): number {
  const checked = loadCheckedPolicy(paths, { include: opts.include, maxFileSize: opts.maxFileSize, today: opts.today ?? new Date().toISOString().slice(0, 10) }, io);
  if (typeof checked === "number") return checked;
  const reach = opts.config !== undefined ? readReach(opts.config, io) : undefined;
  if (typeof reach === "number") return reach;
  const overlay = readOverlay(opts, io);
  if (typeof overlay === "number") return overlay;
  const map = buildMap(checked.policy, { ...(overlay ? { overlay: { state: overlay.state, outcomes: overlay.outcomes } } : {}), ...(reach ? { reach } : {}) });
  // as `covenant history`: the map is written, and a record that failed its check is exit 1
  const done = overlay?.tampered ? EXIT.deficiencies : EXIT.ok;
  const text = opts.format === "json" ? `${JSON.stringify(map, null, 2)}\n` : opts.format === "dot" ? renderDot(map) : renderHtml(map);
  if (opts.out === undefined) {
    io.out(text.replace(/\n$/, ""));
    return done;
  }
  try {
    writeReport(opts.out, text);
  } catch (err) {
    io.err(`covenant map: cannot write ${escapeText(opts.out)}: ${escapeText(String((err as NodeJS.ErrnoException).code ?? (err as Error).message))}`);
    return EXIT.policyError;
  }
  return done;
}
