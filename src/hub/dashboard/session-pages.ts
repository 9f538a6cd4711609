// Signing in and out through pages, and the front door. The sign-in form does what POST /api/login
// does (the same throttling, session and audit: signIn in server/api/session-routes.ts), then goes
// on to the page the person asked for when that is a dashboard page (next.ts), else to the first
// section their roles reach. The stylesheet is the one file every page links, served from here.
import { accessFor } from "../auth/access.js";
import { findRule } from "../auth/rules.js";
import { clearedSessionCookie, grantsOf, sessionCookie } from "../auth/sessions.js";
import { AccessInputError } from "../auth/users.js";
import type { Answer, Call, Handler } from "../server/api/registry.js";
import { signIn, signOut } from "../server/api/session-routes.js";
import { html } from "./html.js";
import { landingPage, publicDocument } from "./layout.js";
import { safeNext } from "./next.js";
import { HTML } from "./refusals.js";
import { STYLESHEET } from "./style.js";

function loginForm(next: string | undefined, problem?: string): string {
  return publicDocument(
    "Sign in",
    html`${problem ? html`<p class="refusal" role="alert">${problem}</p>` : ""}
<form method="post" action="/ui/login" class="login">
<label>User name <input name="user" autocomplete="username" required maxlength="64" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
${next ? html`<input type="hidden" name="next" value="${next}">` : ""}<button type="submit">Sign in</button></form>`,
  );
}

async function loginPage(call: Call): Promise<Answer> {
  return { status: 200, raw: { type: HTML, text: loginForm(safeNext(call.query["next"])) } };
}

async function loginSubmit(call: Call): Promise<Answer> {
  const next = safeNext(call.body["next"]);
  const { user, password } = call.body;
  if (typeof user !== "string" || typeof password !== "string" || user === "" || password === "") return { status: 400, raw: { type: HTML, text: loginForm(next, "Give a user name and a password.") } };
  let r;
  try {
    r = await signIn(call, user, password);
  } catch (err) {
    if (err instanceof AccessInputError) return { status: 400, raw: { type: HTML, text: loginForm(next, err.message) } };
    throw err;
  }
  if ("retryAfterSeconds" in r) return { status: 429, headers: { "retry-after": String(r.retryAfterSeconds) }, raw: { type: HTML, text: loginForm(next, `Too many failed sign-ins: try again in ${r.retryAfterSeconds} s.`) } };
  if ("wrong" in r) return { status: 401, raw: { type: HTML, text: loginForm(next, "The user name or the password is wrong.") } };
  const grants = await grantsOf(call.deps.pool, r.ok.userId);
  // a page asked for that the user's roles do not reach (an author sent from /ui): their own first page instead
  const rule = next ? findRule("GET", next.split("?")[0]!) : undefined;
  const to = next && !(rule && !accessFor(rule, grants)) ? next : landingPage({ grants });
  return { status: 303, headers: { location: to, "set-cookie": sessionCookie(r.ok.sessionId) } };
}

async function logoutSubmit(call: Call): Promise<Answer> {
  await signOut(call);
  return { status: 303, headers: { location: "/ui/login", "set-cookie": clearedSessionCookie() } };
}

async function root(): Promise<Answer> {
  return { status: 303, headers: { location: "/ui" } };
}

async function style(): Promise<Answer> {
  return { status: 200, raw: { type: "text/css; charset=utf-8", text: STYLESHEET } };
}

export const sessionPageHandlers: Record<string, Handler> = {
  "ui.root": root,
  "ui.style": style,
  "ui.login-form": loginPage,
  "ui.login": loginSubmit,
  "ui.logout": logoutSubmit,
};
