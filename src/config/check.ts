// `covenant check` on covenant.yaml: the file found (or given with --config) is loaded and
// checked, then the policy is checked against it (every stakeholder it names can be reached, every
// stakeholder configured is named); with none found, one warning says notifications are off.
import type { Policy } from "../checker/policy.js";
import { diagnostic, type Diagnostic } from "../parser/diagnostics.js";
import type { SourceMap } from "../parser/source-map.js";
import { runningAsRoot } from "../trust/strict-modes.js";
import type { ConfigDiagnostic } from "./diagnostic.js";
import { loadConfig, parseConfig } from "./load.js";
import { findConfig, searchedFor } from "./locate.js";
import { checkStakeholders, notConfigured, stakeholderUses } from "./reach.js";

export interface ConfigCheck {
  diagnostics: Diagnostic[];
  /** the configuration checked, absolute, when one was given or found */
  path?: string;
  /** whether its text was read (it counts as a file checked) */
  read: boolean;
}

export function toDiagnostic(d: ConfigDiagnostic): Diagnostic {
  return diagnostic(d.code, d.message, { file: d.file, start: d.offset, end: d.end }, d.suggestion !== undefined ? { suggestion: d.suggestion } : {});
}

/** Where the language server's check differs from the command's: the directory it stands in, and the text an editor holds for covenant.yaml. */
export interface ConfigCheckOptions {
  cwd?: string;
  held?: (path: string) => string | undefined;
}

/** Loads and checks the configuration; its text (secrets blotted out) is added to `map` for excerpts. */
export function checkConfiguration(explicit: string | undefined, policy: Policy | undefined, map: SourceMap, opts: ConfigCheckOptions = {}): ConfigCheck {
  const root = runningAsRoot();
  const where = { root, cwd: opts.cwd ?? process.cwd(), ...(explicit !== undefined ? { explicit } : {}) };
  const path = findConfig(where);
  // said of a policy that checked clean only: beside its errors it would be noise
  if (path === undefined) return { diagnostics: policy ? [toDiagnostic(notConfigured(searchedFor(where)))] : [], read: false };
  const held = opts.held?.(path);
  const loaded = held !== undefined ? parseConfig(held, path, { root }) : loadConfig(path, { root });
  if (loaded.text !== undefined) map.add(path, loaded.text);
  const found: ConfigDiagnostic[] = [...loaded.diagnostics];
  // a policy with errors has no checked form to hold against the configuration: its errors come first
  if (loaded.config && policy) {
    const positionOf = (file: string, offset: number) => {
      const p = map.position({ file, start: offset, end: offset });
      return { line: p.line, column: p.column };
    };
    found.push(...checkStakeholders(stakeholderUses(policy), loaded.config, positionOf));
  }
  return { diagnostics: found.map(toDiagnostic), path, read: loaded.text !== undefined };
}
