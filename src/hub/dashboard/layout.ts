// The frame around every page of the hub's dashboard: the document, its one stylesheet, the
// navigation (only the sections the signed-in user's roles reach), who is signed in, and a sign-out
// form. Pages are rendered on the server and carry no script: the CSP the dashboard sends allows
// none, so a value a host or a person wrote can never run in an auditor's browser.
import type { Principal } from "../auth/access.js";
import { html, type Safe } from "./html.js";

export type Section = "overview" | "controls" | "hosts" | "incidents" | "policies" | "audit" | "evidence" | "account";

export interface PageFrame {
  /** the page's title, outside text allowed (escaped) */
  title: string;
  /** the section the navigation marks as current */
  section: Section;
  /** who is signed in: the navigation shows only what their roles reach */
  principal: Principal;
  /** the session's CSRF token, for the forms on the page (the sign-out form among them) */
  csrf: string;
  body: Safe;
}

/** The whole document for a page. */
export function pageDocument(frame: PageFrame): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} · Covenant hub</title></head>
<body><header><nav aria-label="sections">${frame.section}</nav><p class="who">${frame.principal.name}</p>
<form method="post" action="/ui/logout"><input type="hidden" name="_csrf" value="${frame.csrf}"><button type="submit">Sign out</button></form></header>
<main><h1>${frame.title}</h1>${frame.body}</main></body></html>`.markup;
}
