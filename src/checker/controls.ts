// Checking the controls, each with its promises. A control's check reads its own declaration
// and the policy's names (variables, contexts, stakeholders, promise types), never another
// control: so a language server checking the policy again after an edit (CheckMemo) takes a
// control's result from its last check when the declaration is the same parse and nothing it
// may read changed, and checks afresh only the controls an edit touched.
import { literalText, typeSpan, type ControlDecl, type PromiseDecl, type SourceFile } from "../parser/ast.js";
import { diagnostic, type Diagnostic, type Span } from "../parser/diagnostics.js";
import { didYouMean } from "../parser/suggest.js";
import { attributesOf, promiseTypes } from "../promise-types/registry.js";
import type { AttributeSpec } from "../promise-types/schema.js";
import { checkAttributes, checkConstraints } from "./attributes.js";
import { controlAttributes } from "./blocks.js";
import { ContradictionIndex } from "./contradiction-index.js";
import type { PromiseEntry } from "./contradictions.js";
import { ownEvery, promiseEvery } from "./every.js";
import type { CheckedControl, CheckedPromise, Severity } from "./policy.js";
import type { DeclaredTypes } from "./promise-type-decl.js";
import type { Scope } from "./scope.js";
import { INVALID, type ValueChecker } from "./values.js";

const controlSpecs = new Map<string, AttributeSpec>(controlAttributes.map((s) => [s.name, s]));

/** One control's check, as it was made: what it gave and every effect it had on the policy's check. */
interface Remembered {
  /** where the declaration stood then (an edit before it moves it: its diagnostics move with it) */
  file: string;
  start: number;
  end: number;
  control: CheckedControl;
  entries: PromiseEntry[];
  diagnostics: Diagnostic[];
  usedVariables: string[];
  usedContexts: string[];
  /** what its uses of variables took from the expansion budget (bounds.ts) */
  charged: number;
}

/**
 * The controls' checks of the last check of a policy, for the next one (a language server keeps
 * one per folder). A control's result is taken again only when its declaration is the very same
 * node (the incremental parse keeps the nodes of the declarations an edit did not touch) and
 * everything else a control's check may read is as it was: the policy's variables, contexts
 * and promise types (the same text at the same places), its stakeholders' names, the same
 * files, the same unread or cut-short declarations (waivers, the calendar, imports and
 * stakeholders' descriptions are read by no control's check). The checks it takes again are replayed in order (their diagnostics, their
 * uses of names, what they took from the expansion budget), so the result is the whole
 * check's, exactly (test/lsp/reuse.test.ts holds the two against each other).
 */
export class CheckMemo {
  private context: unknown[] = [];
  /** where each variable, context and promise type of `context` stood, in its order */
  private places: Span[] = [];
  /** the variables, contexts and promise types an edit moved since the last check, by file: their ranges then (in order), and by how much */
  moves = new Map<string, Move[]>();
  private controls = new Map<ControlDecl, Remembered>();
  /** the promises of the last check by type and promiser, for its contradictions */
  readonly contradictions = new ContradictionIndex();
  /** how many controls the last check took again, and how many it checked */
  reused = 0;
  checked = 0;

  /** Starts a check: what was remembered is usable only if what controls read is unchanged. */
  begin(files: SourceFile[], someFileUnread: boolean): Map<ControlDecl, Remembered> {
    const context: unknown[] = [someFileUnread];
    const places: Span[] = [];
    for (const f of files) {
      context.push(f.path);
      for (const d of f.incomplete) context.push(d.kind, d.name);
      for (const s of f.statements) {
        switch (s.kind) {
          // read by no control's check (waivers read the controls, not the other way round)
          case "control":
          case "waiver":
          case "calendar":
          case "import":
            break;
          // a stakeholder's name only (its description is checked on its own)
          case "stakeholder":
            context.push("stakeholder", s.name.name);
            break;
          // variables, contexts, promise types: by their text, not their nodes (a file parsed
          // whole again, after a syntax error, has new nodes for the same declarations, and the
          // same text parses the same); where they stand is kept aside: one an edit only moved
          // moves what the controls' diagnostics say of it
          default:
            context.push(f.text.slice(s.start, s.end));
            places.push({ file: f.path, start: s.start, end: s.end });
        }
      }
    }
    const same = context.length === this.context.length && context.every((x, i) => x === this.context[i]);
    this.context = context;
    this.moves = new Map();
    if (same) {
      for (let i = 0; i < places.length; i++) {
        const [then, now] = [this.places[i]!, places[i]!];
        if (then.start === now.start) continue;
        let list = this.moves.get(then.file);
        if (!list) this.moves.set(then.file, (list = []));
        list.push({ file: then.file, start: then.start, end: then.end, delta: now.start - then.start });
      }
    }
    this.places = places;
    const previous = same ? this.controls : new Map<ControlDecl, Remembered>();
    if (!same) this.contradictions.clear();
    // only this check's controls are kept: a declaration edited away leaves
    this.controls = new Map();
    this.reused = this.checked = 0;
    return previous;
  }

  remember(decl: ControlDecl, r: Remembered): void {
    this.controls.set(decl, r);
  }
}

/** Checks every control of the policy (in order), taking again from `memo` what it can. */
export function checkControls(scope: Scope, values: ValueChecker, diagnostics: Diagnostic[], entries: PromiseEntry[], declared: DeclaredTypes, memo?: CheckMemo): CheckedControl[] {
  const previous = memo?.begin(scope.files, scope.someFileUnread);
  const controls: CheckedControl[] = [];
  for (const decl of scope.controls) {
    const known = previous?.get(decl);
    if (memo && known && scope.budget.retake(known.charged)) {
      const r = moved(known, decl, memo.moves);
      for (const d of r.diagnostics) diagnostics.push(d);
      for (const e of r.entries) entries.push(e);
      for (const n of r.usedVariables) scope.usedVariables.add(n);
      for (const n of r.usedContexts) scope.usedContexts.add(n);
      memo.remember(decl, r);
      memo.reused++;
      controls.push(r.control);
      continue;
    }
    if (!memo) {
      controls.push(checkControl(decl, values, diagnostics, entries, declared));
      continue;
    }
    const firstDiagnostic = diagnostics.length;
    const firstEntry = entries.length;
    const left = scope.budget.remaining;
    const { result: control, variables, contexts } = scope.usesOf(() => checkControl(decl, values, diagnostics, entries, declared));
    memo.checked++;
    controls.push(control);
    // a check the budget ran out in said so because of the controls before it: not taken again
    if (scope.budget.remaining < 0) continue;
    memo.remember(decl, {
      file: decl.file,
      start: decl.start,
      end: decl.end,
      control,
      entries: entries.slice(firstEntry),
      diagnostics: diagnostics.slice(firstDiagnostic),
      usedVariables: [...variables],
      usedContexts: [...contexts],
      charged: left - scope.budget.remaining,
    });
  }
  return controls;
}

/** A range an edit moved by `delta`. */
interface Move extends Span {
  delta: number;
}

/**
 * A remembered check of a declaration that an edit before it moved (the incremental parse moves
 * the nodes in place), or that says something of a variable an edit moved: its diagnostics'
 * ranges inside the declaration move with it, and those inside a variable, a context or a
 * promise type with them. Ranges elsewhere are in declarations no control's check reads.
 */
function moved(r: Remembered, decl: ControlDecl, moves: Map<string, Move[]>): Remembered {
  const delta = decl.start - r.start;
  if (delta === 0 && moves.size === 0) return r;
  const by = (s: Span): number => {
    if (s.file === r.file && s.start >= r.start && s.end <= r.end) return delta;
    // the last range moved that starts at or before it (a file's ranges are in order, apart)
    const list = moves.get(s.file);
    if (list === undefined) return 0;
    let at = -1;
    for (let lo = 0, hi = list.length - 1; lo <= hi; ) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.start <= s.start) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const m = list[at];
    return m !== undefined && s.end <= m.end ? m.delta : 0;
  };
  const move = (s: Span): Span => {
    const d = by(s);
    return d === 0 ? s : { file: s.file, start: s.start + d, end: s.end + d };
  };
  const diagnostics = r.diagnostics.map((d) => {
    const m: Diagnostic = { ...d, span: move(d.span) };
    if (d.related) m.related = d.related.map((x) => ({ span: move(x.span), message: x.message }));
    return m;
  });
  return { ...r, start: decl.start, end: decl.end, diagnostics };
}

export function checkControl(decl: ControlDecl, values: ValueChecker, diagnostics: Diagnostic[], entries: PromiseEntry[], declared: DeclaredTypes): CheckedControl {
  const id = literalText(decl.id);
  const what = `control "${id}"`;
  const meta = decl.items.filter((i) => i.kind === "attribute");
  const a = checkAttributes(meta, controlSpecs, { what, head: decl.id }, values, diagnostics);
  if (a.nodes["owner"] === undefined) {
    diagnostics.push(diagnostic("W202", `${what} has no owner`, decl.id, { suggestion: "add `owner = <stakeholder>` so deficiencies reach someone accountable" }));
  }
  const control: CheckedControl = {
    id,
    title: (a.values["title"] as string | undefined) ?? "",
    severity: ((a.values["severity"] as Severity | undefined) ?? "medium") as Severity,
    refs: (a.values["refs"] as string[] | undefined) ?? [],
    key: (a.values["key"] as boolean | undefined) ?? false,
    promises: [],
    span: decl,
  };
  if (a.values["description"] !== undefined) control.description = a.values["description"] as string;
  if (a.values["owner"] !== undefined) control.owner = a.values["owner"] as string;
  if (a.nodes["when"] !== undefined && !a.invalid.has("when")) control.when = a.nodes["when"]!.value;
  const every = ownEvery(a, diagnostics);
  if (every !== undefined) control.every = every;
  for (const item of decl.items) {
    if (item.kind !== "promise") continue;
    const entry = checkPromise(item, control, values, diagnostics, declared);
    if (entry) {
      control.promises.push(entry.promise);
      entries.push(entry);
    }
  }
  // an exact-size copy: the pushes reserved room for 17, and the policy keeps every control
  control.promises = control.promises.slice();
  if (!decl.items.some((i) => i.kind === "promise")) {
    diagnostics.push(diagnostic("E104", `${what} has no promises: a control must test something`, decl.id));
  }
  return control;
}

/** No stakeholders, no dependencies: one frozen array for every promise without (an array each was 32 bytes a promise). */
const none: string[] = Object.freeze([]) as unknown as string[];

function checkPromise(decl: PromiseDecl, control: CheckedControl, values: ValueChecker, diagnostics: Diagnostic[], declared: DeclaredTypes): PromiseEntry | undefined {
  const type = decl.type;
  const spec = promiseTypes.get(type) ?? declared.specs.get(type);
  if (!spec) {
    if (declared.broken.has(type)) return undefined; // its declaration's errors say why
    const known = [...promiseTypes.keys(), ...declared.specs.keys()];
    diagnostics.push(
      diagnostic("E100", `unknown promise type \`${type}\``, typeSpan(decl), {
        suggestion: didYouMean(type, known) ?? `promise types: ${known.join(", ")}`,
      }),
    );
    return undefined;
  }
  const what = `\`${type}\` promise`;
  let promiser: unknown;
  if (spec.promiser === null && decl.promiser) {
    diagnostics.push(diagnostic("E117", `\`${type}\` takes no promiser: it checks the whole host`, decl.promiser, { suggestion: `write \`${type} { … }\`` }));
  } else if (spec.promiser !== null && !decl.promiser) {
    diagnostics.push(diagnostic("E117", `\`${type}\` needs a promiser: ${spec.promiser.description.toLowerCase()}`, typeSpan(decl), { suggestion: `write \`${type} <promiser> { … }\`` }));
  } else if (spec.promiser !== null && decl.promiser) {
    const v = values.check(decl.promiser, spec.promiser.type, `the promiser of \`${type}\``);
    if (v !== INVALID) promiser = v;
  }
  let stakeholders = none;
  if (decl.stakeholders !== undefined) {
    stakeholders = [];
    for (const s of decl.stakeholders.names) {
      const v = values.headerStakeholder(s);
      if (v !== INVALID) for (const name of v) stakeholders.push(name); // not push(...v): a variable may hold a million
    }
  }
  const where = { what, head: typeSpan(decl) };
  const a = checkAttributes(decl.attributes, attributesOf(type) ?? declared.attributes.get(type)!, where, values, diagnostics);
  checkConstraints(spec.constraints, a, where, diagnostics);
  // `when`, `every`, `handle` and `depends_on` live on the promise itself, not among its own attributes
  // (copied rather than deleted: deleting keys would turn every such object into a slow dictionary)
  const handle = a.values["handle"];
  const dependsOn = a.values["depends_on"] as string[] | undefined;
  let own = a.values;
  if (handle !== undefined || dependsOn !== undefined || a.nodes["when"] !== undefined || a.nodes["every"] !== undefined) {
    own = {};
    for (const k in a.values) if (k !== "when" && k !== "every" && k !== "handle" && k !== "depends_on") own[k] = a.values[k];
  }
  const promise: CheckedPromise = { type, promiser, stakeholders, attributes: own, dependsOn: dependsOn ?? none, span: decl };
  if (a.nodes["when"] !== undefined && !a.invalid.has("when")) promise.when = a.nodes["when"]!.value;
  if (handle !== undefined) promise.handle = handle as string;
  const every = promiseEvery(a, control, diagnostics);
  if (every !== undefined) promise.every = every;
  return { control, promise, values: a.values };
}

