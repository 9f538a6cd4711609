// Reading a pushed record's body on the hub, where every field is the host's word and bounded:
// the derived tables (derive.ts) and the decisions' answers (decisions.ts) read records alike.

/** A record line's body, when the line is JSON with an object body; undefined otherwise. */
export function bodyOf(line: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(line) as { body?: unknown };
    return typeof v.body === "object" && v.body !== null && !Array.isArray(v.body) ? (v.body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A string field of at most `max` characters; undefined for anything else. */
export const text = (v: unknown, max = 4096): string | undefined => (typeof v === "string" && v.length <= max ? v : undefined);
