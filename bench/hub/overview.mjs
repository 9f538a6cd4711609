// ---- OVERVIEW PAGE TIME (placeholder) ----------------------------------------------------------
// Issue 18 asks for the fleet overview page's time with the benchmark's fleet loaded (goal: under
// 1 s). The dashboard has no overview page yet, so this is skipped with a message. When the page
// exists: log in as an auditor (the role that sees every host), then time GET of the overview
// page (median of 7 after one warm-up, the whole response read) against the hub `hub` holds,
// with the fleet this benchmark loaded still in the database, and return { ms }.
export async function overviewPageTime(_hub, _pool) {
  return { skipped: "the dashboard has no overview page yet (issue 18): time it here when it exists" };
}
