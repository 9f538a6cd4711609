// The checked Policy as the policy cache stores it. V8's serializer keeps Maps, arrays and
// shared nodes, but an instance of a class comes back as a plain object: the AST's plain string
// literals (parser/plain-string.ts, their `kind`, `raw` and `parts` on the prototype) are written
// as tagged records and made again when read. Any other class instance is refused (WireError):
// the policy is then not cached rather than cached wrong.
//
// A declaration's `span` is its whole AST node after a check (checker/policy.ts), which the
// checker reads; a run, its reports and messages read only its file, start and end, so the cache
// keeps those alone (slimPolicy): at 2,000 promises, 0.44 MB to write and decode instead of 1.9.
import type { Policy } from "../checker/policy.js";
import type { Span } from "../parser/diagnostics.js";
import { PlainString } from "../parser/plain-string.js";

const TAG = "\u0000plain-string";

export class WireError extends Error {}

type Memo = Map<object, unknown>;

const spanOf = (s: Span): Span => ({ file: s.file, start: s.start, end: s.end });

/** The policy as the cache keeps it: every control's, promise's, waiver's and promise type's `span` as its file, start and end only (a copy: `policy` is left as it is). */
export function slimPolicy(policy: Policy): Policy {
  const out: Policy = {
    ...policy,
    controls: policy.controls.map((c) => ({ ...c, span: spanOf(c.span), promises: c.promises.map((p) => ({ ...p, span: spanOf(p.span) })) })),
    waivers: policy.waivers.map((w) => ({ ...w, span: spanOf(w.span) })),
  };
  if (policy.promiseTypes) out.promiseTypes = new Map([...policy.promiseTypes].map(([k, t]) => [k, { ...t, span: spanOf(t.span) }]));
  return out;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A copy of `v` the serializer keeps whole (the policy itself is left as it is: the run goes on with it). */
export function toWire(v: unknown, memo: Memo = new Map()): unknown {
  if (v === null || typeof v !== "object") {
    if (typeof v === "function" || typeof v === "symbol") throw new WireError(`a ${typeof v} cannot be cached`);
    return v;
  }
  if (memo.has(v)) return memo.get(v);
  if (v instanceof PlainString) {
    const out = { [TAG]: [v.text, v.file, v.start, v.end] };
    memo.set(v, out);
    return out;
  }
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    memo.set(v, out);
    for (const x of v) out.push(toWire(x, memo));
    return out;
  }
  if (v instanceof Map) {
    const out = new Map<unknown, unknown>();
    memo.set(v, out);
    for (const [k, x] of v) out.set(toWire(k, memo), toWire(x, memo));
    return out;
  }
  if (v instanceof RegExp || v instanceof Date) return v;
  if (!isPlainObject(v)) throw new WireError(`an instance of ${v.constructor?.name ?? "a class"} cannot be cached`);
  const out: Record<string, unknown> = {};
  memo.set(v, out);
  for (const k of Object.keys(v)) out[k] = toWire((v as Record<string, unknown>)[k], memo);
  return out;
}

/** The value `toWire` made, as it was: plain strings made again (in place: `v` is fresh from the serializer). */
export function fromWire(v: unknown, memo: Memo = new Map()): unknown {
  if (v === null || typeof v !== "object") return v;
  if (memo.has(v)) return memo.get(v);
  if (Array.isArray(v)) {
    memo.set(v, v);
    for (let i = 0; i < v.length; i++) v[i] = fromWire(v[i], memo);
    return v;
  }
  if (v instanceof Map) {
    memo.set(v, v);
    for (const [k, x] of v) v.set(k, fromWire(x, memo));
    return v;
  }
  if (!isPlainObject(v)) return v;
  const tagged = (v as Record<string, unknown>)[TAG];
  if (Array.isArray(tagged)) {
    const [text, file, start, end] = tagged as [string, string, number, number];
    const s = new PlainString(text, file, start, end);
    memo.set(v, s);
    return s;
  }
  memo.set(v, v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) o[k] = fromWire(o[k], memo);
  return v;
}
