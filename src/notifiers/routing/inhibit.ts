// Silence for consequences: when a promise others `depends_on` is deficient, theirs are likely
// its echo (a missing package, then its service and its configuration file), so only the cause
// is told until it is resolved. Alertmanager needs inhibit rules written by hand for this; the
// policy already says which promise depends on which.
import type { Deficiency } from "../contract.js";

/** For each open deficiency held back, the id of an open deficiency it depends on (the first by id). */
export function inhibitions(deficiencies: readonly Deficiency[], enabled: boolean): Map<string, string> {
  const held = new Map<string, string>();
  if (!enabled) return held;
  const byHandle = new Map<string, Deficiency[]>();
  for (const d of deficiencies) {
    if (d.status !== "open" || d.promise.handle === undefined) continue;
    const key = `${d.host}\0${d.promise.handle}`;
    const list = byHandle.get(key) ?? [];
    list.push(d);
    byHandle.set(key, list);
  }
  for (const d of deficiencies) {
    if (d.status !== "open" || d.notice) continue;
    const causes: string[] = [];
    for (const handle of d.promise.dependsOn) {
      for (const cause of byHandle.get(`${d.host}\0${handle}`) ?? []) if (cause.id !== d.id) causes.push(cause.id);
    }
    if (causes.length > 0) held.set(d.id, causes.sort()[0]!);
  }
  return held;
}
