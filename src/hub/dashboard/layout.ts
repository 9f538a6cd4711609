// The frame around every page of the hub's dashboard: the document, its one stylesheet, the
// navigation (only the sections the signed-in user's roles reach), who is signed in, and a sign-out
// form. Pages are rendered on the server and carry no script: the CSP the dashboard sends allows
// none, so a value a host or a person wrote can never run in an auditor's browser.
import { accessFor, type Principal } from "../auth/access.js";
import { findRule } from "../auth/rules.js";
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
  /** a line under the title (escaped) */
  subtitle?: string;
}

/**
 * Each section's page, and the API route that reads the same objects: a section is shown when its
 * page's rule lets one of the user's roles in, or (a page still to come) when the API's does.
 */
const SECTIONS: readonly { section: Section; label: string; page: string; api?: string }[] = [
  { section: "overview", label: "Overview", page: "/ui", api: "/api/overview" },
  { section: "controls", label: "Controls", page: "/ui/controls", api: "/api/controls" },
  { section: "hosts", label: "Hosts", page: "/ui/hosts", api: "/api/hosts" },
  { section: "incidents", label: "Incidents", page: "/ui/incidents", api: "/api/incidents" },
  { section: "policies", label: "Policies", page: "/ui/policies", api: "/api/policies" },
  { section: "audit", label: "Audit log", page: "/ui/audit", api: "/api/audit" },
  { section: "evidence", label: "Evidence", page: "/ui/evidence" },
  { section: "account", label: "Account", page: "/ui/account" },
];

/** The sections the principal's roles reach, in the navigation's order, with their pages. */
export function sectionsFor(principal: Pick<Principal, "grants">): { section: Section; label: string; page: string }[] {
  return SECTIONS.filter((s) => {
    const rule = findRule("GET", s.page) ?? (s.api ? findRule("GET", s.api) : undefined);
    return rule !== undefined && accessFor(rule, principal.grants) !== undefined;
  }).map(({ section, label, page }) => ({ section, label, page }));
}

/** The page a person lands on after signing in: the overview, else the first section they reach. */
export function landingPage(principal: Pick<Principal, "grants">): string {
  return sectionsFor(principal).find((s) => findRule("GET", s.page) !== undefined)?.page ?? "/ui/login";
}

function head(title: string): Safe {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>${title} · Covenant hub</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/style.css"></head>`;
}

function navigation(frame: PageFrame): Safe {
  const links = sectionsFor(frame.principal).map((s) =>
    s.section === frame.section ? html`<li><a href="${s.page}" aria-current="page">${s.label}</a></li>` : html`<li><a href="${s.page}">${s.label}</a></li>`,
  );
  return html`<nav aria-label="sections"><ul>${links}</ul></nav>`;
}

/** The whole document for a page. */
export function pageDocument(frame: PageFrame): string {
  return html`${head(frame.title)}
<body><header class="top"><a class="brand" href="/ui">Covenant hub</a>${navigation(frame)}
<div class="who"><span>Signed in as <strong>${frame.principal.name}</strong></span>
<form method="post" action="/ui/logout" class="inline"><input type="hidden" name="_csrf" value="${frame.csrf}"><button type="submit">Sign out</button></form></div></header>
<main><h1>${frame.title}</h1>${frame.subtitle ? html`<p class="subtitle">${frame.subtitle}</p>` : ""}${frame.body}</main></body></html>`.markup;
}

/** A page for someone not signed in (the sign-in page): no navigation, no sign-out form. */
export function publicDocument(title: string, body: Safe): string {
  return html`${head(title)}
<body class="public"><header class="top"><span class="brand">Covenant hub</span></header><main class="narrow"><h1>${title}</h1>${body}</main></body></html>`.markup;
}

const STATUS_TITLE: Record<number, string> = { 400: "Not understood", 403: "Not allowed", 404: "Not found", 409: "Not done", 413: "Too large", 415: "Not understood", 429: "Too many attempts", 500: "The hub failed", 503: "Unavailable" };

/** A refusal as a page: its status, what the hub said, and the way back. */
export function errorDocument(status: number, message: string): string {
  const title = STATUS_TITLE[status] ?? "Refused";
  return publicDocument(title, html`<p class="refusal">${message}</p><p><a href="/ui">Back to the overview</a></p>`);
}
