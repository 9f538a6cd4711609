// Which episodes and repairs a report for reading lists (`--list N`): a year of a flapping host
// holds tens of thousands of episodes, and a page of 70,000 rows is one no auditor reads (nor a
// browser draws). Nothing an auditor must see is left out: every episode still open at the
// period's end is listed, then the longest (the worst remediation), then the most recent; the
// counts and figures (remediation, open at end) are always over every episode, and JSON and CSV
// list every one by default.
import type { Episode, Listing } from "./report-model.js";

const byOpened = (a: Episode, b: Episode) => a.openedRecord - b.openedRecord;

/**
 * The episodes to list, in the order they opened: all when `limit` is undefined or not reached;
 * else the open ones, then the longest resolved ones for half of the room left, then the most
 * recent for the rest.
 */
export function episodesToList(all: readonly Episode[], limit: number | undefined): Episode[] {
  if (limit === undefined || all.length <= limit) return [...all].sort(byOpened);
  const chosen = new Set<Episode>();
  for (const e of all) if (e.resolved === undefined) chosen.add(e);
  const resolved = all.filter((e) => e.resolved !== undefined);
  const room = Math.max(0, limit - chosen.size);
  const longest = [...resolved].sort((a, b) => (b.durationMs ?? 0) - (a.durationMs ?? 0) || b.openedRecord - a.openedRecord);
  for (const e of longest.slice(0, Math.ceil(room / 2))) chosen.add(e);
  const recent = resolved.sort((a, b) => b.openedRecord - a.openedRecord);
  for (const e of recent) {
    if (chosen.size >= limit) break;
    chosen.add(e);
  }
  return [...chosen].sort(byOpened);
}

/** `all`: the counts over every episode (report-books.ts EpisodeBook). */
export function listingOf(all: { total: number; deficiencies: number; openAtEnd: number }, listed: number, repairs: number, repairsListed: number, limit: number | undefined): Listing {
  return { limit: limit ?? null, episodes: { total: all.total, listed, deficiencies: all.deficiencies, openAtEnd: all.openAtEnd }, repairs: { total: repairs, listed: repairsListed } };
}
