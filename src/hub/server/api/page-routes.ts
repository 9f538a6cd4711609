// The dashboard's pages of controls and hosts: the same views as the JSON routes
// (../views/), drawn as HTML on the server (../../dashboard/) inside the page frame. The guard in
// registry.ts has already held the request to the rules (a session, the roles, the one control or
// host in reach); a control the hub knows nothing of is a 404 as in the JSON.
import { csrfTokenOf } from "../../auth/sessions.js";
import { html } from "../../dashboard/html.js";
import { pageDocument, type PageFrame } from "../../dashboard/layout.js";
import { controlPageBody } from "../../dashboard/control-page.js";
import { controlsPageBody } from "../../dashboard/controls-page.js";
import { hostPageBody } from "../../dashboard/host-page.js";
import { controlView } from "../views/control-view.js";
import { controlsList, filtersOf } from "../views/controls-list.js";
import { hostView } from "../views/host-view.js";
import { paging } from "./fleet-routes.js";
import type { Answer, Call, Handler } from "./registry.js";
import { hostDecisions, waivableControls, waiveFormFor } from "./decision-pages.js";

function page(call: Call, frame: Omit<PageFrame, "principal" | "csrf">, status = 200): Answer {
  const document = pageDocument({ ...frame, principal: call.principal!, csrf: csrfTokenOf(call.cookieSession!) });
  return { status, raw: { type: "text/html; charset=utf-8", text: document } };
}

async function controlsPage(call: Call): Promise<Answer> {
  const p = paging(call.query);
  const f = filtersOf(call.query);
  const list = await controlsList(call.deps.pool, call.access!, f, p);
  return page(call, { title: "Controls", section: "controls", body: controlsPageBody(list, f, call.query, p) });
}

async function controlPage(call: Call): Promise<Answer> {
  const control = call.params["control"]!;
  const view = await controlView(call.deps.pool, control, call.query, paging({ ...call.query, size: call.query["size"] ?? "50" }), call.deps.now());
  if (!view) return page(call, { title: "Not found", section: "controls", body: html`<p>The hub knows nothing of this control.</p>` }, 404);
  return page(call, { title: `Control ${control}`, section: "controls", body: controlPageBody(view, call.query, await waiveFormFor(call, control, csrfTokenOf(call.cookieSession!))) });
}

async function hostPage(call: Call): Promise<Answer> {
  const view = await hostView(call.deps.pool, call.params["host"]!, call.access!);
  const csrf = csrfTokenOf(call.cookieSession!);
  const decisions = await hostDecisions(call, { id: view.host.id, group: view.host.group, revoked: view.host.revokedAt !== null }, csrf);
  const extras = { decisions, waivable: waivableControls(call, view.byControl), csrf };
  return page(call, { title: `Host ${view.host.name}`, section: "hosts", body: hostPageBody(view, extras) });
}

export const pageHandlers: Record<string, Handler> = {
  "ui.controls": controlsPage,
  "ui.control": controlPage,
  "ui.host": hostPage,
};
