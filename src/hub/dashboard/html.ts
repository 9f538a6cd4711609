// HTML for the hub's dashboard, escaped by default: every value put into an `html` template is
// outside text (host names, control ids, reasons, user names are written by hosts and people) and
// is escaped as src/report/report-html-text.ts escapes the evidence report's, control characters
// and bidirectional marks made visible first. Only a `Safe` (another template's result, or `raw`
// for markup this code wrote itself) goes in as it is. Arrays are joined; null, undefined and
// false write nothing, so `${cond && html`...`}` reads naturally.
import { text } from "../../report/report-html-text.js";

/** Markup that is already safe to write: made by `html` or, for this code's own constants, `raw`. */
export class Safe {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

type Value = Safe | string | number | boolean | null | undefined | readonly Value[];

function write(v: Value): string {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof Safe) return v.markup;
  if (Array.isArray(v)) return (v as readonly Value[]).map(write).join("");
  return text(String(v));
}

/** A tagged template: `html\`<td>${host.name}</td>\`` escapes the name. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Safe {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += write(values[i]!) + strings[i + 1]!;
  return new Safe(out);
}

/** This code's own markup, never outside text. */
export function raw(markup: string): Safe {
  return new Safe(markup);
}
