// Where the sign-in page sends a person afterwards: only a path of the dashboard itself (/ui...),
// never another site. `//evil.example`, `/\evil.example`, `https://...` and anything with a
// scheme, a backslash or a control character are refused, so that a link to the sign-in page
// cannot be made into an open redirect.
const LOCAL_PAGE = /^\/ui(?:\/[A-Za-z0-9._~%:@!$&'()*+,;=-]*)*(?:\?[A-Za-z0-9._~%:@!$&'()*+,;=/?-]*)?$/;

/** `next` when it is a local dashboard path (not the sign-in page itself), else undefined. */
export function safeNext(next: unknown): string | undefined {
  if (typeof next !== "string" || next.length > 1000) return undefined;
  if (!LOCAL_PAGE.test(next) || next.startsWith("//") || next.includes("\\")) return undefined;
  if (next === "/ui/login" || next.startsWith("/ui/login?") || next.startsWith("/ui/logout")) return undefined;
  return next;
}

/** The sign-in page's address that comes back to `path` afterwards. */
export function loginPath(path: string | undefined): string {
  const next = safeNext(path);
  return next ? `/ui/login?next=${encodeURIComponent(next)}` : "/ui/login";
}
