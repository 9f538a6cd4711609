// Durations as covenant.yaml writes them: 30s, 5m, 4h, 2d, 1h30m (units largest first, each at
// most once). The schema's `duration` pattern accepts the same forms; this turns them into ms.
const UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
const FORM = /^(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/;

/** The longest duration accepted: ten years (beyond that a setting is a mistake, and sums of them stay exact). */
const MAX_DURATION_MS = 3650 * UNITS["d"]!;

/** Milliseconds, or undefined when `text` is not a duration or is longer than MAX_DURATION_MS. */
export function parseDuration(text: string): number | undefined {
  const m = FORM.exec(text);
  if (!m) return undefined;
  let ms = 0;
  for (const part of m.slice(1)) {
    if (part === undefined) continue;
    ms += Number(part.slice(0, -1)) * UNITS[part.at(-1)!]!;
  }
  return ms <= MAX_DURATION_MS ? ms : undefined;
}
