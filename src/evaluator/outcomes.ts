// Promise outcomes and how they combine into a control's verdict.

/** From best to worst: a control's verdict is the worst outcome of its promises. */
export const outcomeOrder = ["skipped", "kept", "repaired", "waived", "drift", "failed", "error"] as const;

export type Outcome = (typeof outcomeOrder)[number];

/** How many of each outcome, every outcome named (0 when none): a run's summary and its report count alike. */
export function countOutcomes(results: readonly { outcome: Outcome }[]): Record<Outcome, number> {
  const counts = Object.fromEntries(outcomeOrder.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const r of results) counts[r.outcome]++;
  return counts;
}

const rank = new Map<Outcome, number>(outcomeOrder.map((o, i) => [o, i]));

export function worst(outcomes: Iterable<Outcome>): Outcome {
  let w: Outcome = "skipped";
  for (const o of outcomes) if (rank.get(o)! > rank.get(w)!) w = o;
  return w;
}

/** Outcomes that are deficiencies: the host is not as promised and nobody accepted it. */
export function isDeficiency(o: Outcome): boolean {
  return o === "drift" || o === "failed" || o === "error";
}

export const outcomeMeaning: Record<Outcome, string> = {
  kept: "the host is as promised",
  repaired: "the host was not as promised and was repaired; observed again, it now is",
  drift: "the host is not as promised, and no repair is declared (or this is a dry run)",
  failed: "a repair was attempted and the host is still not as promised",
  error: "the promise could not be observed; this never counts as compliant",
  skipped: "the promise's condition is false on this host now",
  waived: "the host is not as promised, and an unexpired waiver accepts it; the drift is still recorded",
};
