// The knowledge map page's own script, inlined in the HTML (no file, no network). It reads the
// map's JSON from the page and draws it with textContent only: every string in it is policy
// text, never markup. Plain ES2020 for any browser; kept in a string so the bundle carries it.
export const MAP_PAGE_SCRIPT = String.raw`
"use strict";
(function () {
  var map = JSON.parse(document.getElementById("map-data").textContent);
  var COBIT_USED = ["DSS01", "DSS04", "DSS05", "BAI06", "BAI10"];
  var byId = new Map();
  map.nodes.forEach(function (n) { byId.set(n.id, n); });
  var out = new Map();
  map.edges.forEach(function (e) {
    if (!out.has(e.from)) out.set(e.from, []);
    out.get(e.from).push(e);
  });
  function targets(id, kind) {
    return (out.get(id) || []).filter(function (e) { return e.kind === kind; }).map(function (e) { return byId.get(e.to); });
  }
  var controls = map.nodes.filter(function (n) { return n.kind === "control"; });
  var ofKind = function (k) { return map.nodes.filter(function (n) { return n.kind === k; }); };
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "className") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  // which controls a promise, a resource or a stakeholder belongs to
  var promisesOf = new Map();
  controls.forEach(function (c) { promisesOf.set(c.id, targets(c.id, "control-promise")); });
  function stakeholdersOf(c) {
    var names = new Set();
    targets(c.id, "control-owner").forEach(function (s) { names.add(s.name); });
    promisesOf.get(c.id).forEach(function (p) { targets(p.id, "promise-stakeholder").forEach(function (s) { names.add(s.name); }); });
    return names;
  }

  document.getElementById("control-count").textContent = plural(controls.length, "control");
  document.getElementById("summary-rest").textContent = ", " + plural(ofKind("promise").length, "promise") + ", " + plural(ofKind("resource").length, "resource") + ", " +
    plural(ofKind("stakeholder").length, "stakeholder") + ", " + plural(ofKind("ref").length, "framework reference") + ". " +
    (map.state ? "Latest outcomes from the store in " + map.state + "." : "From the policy alone: no outcomes overlaid.");

  // the filters' choices
  var refSelect = document.getElementById("filter-ref");
  var frameworks = new Map();
  ofKind("ref").forEach(function (r) {
    if (!frameworks.has(r.framework)) frameworks.set(r.framework, []);
    frameworks.get(r.framework).push(r);
  });
  Array.from(frameworks.keys()).sort().forEach(function (f) {
    var group = el("optgroup", { label: f });
    group.appendChild(el("option", { value: "framework:" + f, text: "every " + f + " reference" }));
    var objectives = new Set();
    frameworks.get(f).forEach(function (r) { if (r.objective) objectives.add(r.objective); });
    Array.from(objectives).sort().forEach(function (o) { group.appendChild(el("option", { value: "objective:" + o, text: f + " " + o + " (any practice)" })); });
    frameworks.get(f).slice().sort(function (a, b) { return a.ref < b.ref ? -1 : 1; }).forEach(function (r) { group.appendChild(el("option", { value: "ref:" + r.ref, text: r.ref })); });
    refSelect.appendChild(group);
  });
  function fill(select, names) {
    Array.from(names).sort().forEach(function (n) { select.appendChild(el("option", { value: n, text: n })); });
  }
  fill(document.getElementById("filter-owner"), new Set(controls.filter(function (c) { return c.owner !== undefined; }).map(function (c) { return c.owner; })));
  fill(document.getElementById("filter-stakeholder"), new Set(ofKind("stakeholder").map(function (s) { return s.name; })));

  function refMatches(c, choice) {
    if (!choice) return true;
    var refs = targets(c.id, "control-ref");
    if (choice.indexOf("framework:") === 0) return refs.some(function (r) { return r.framework === choice.slice(10); });
    if (choice.indexOf("objective:") === 0) return refs.some(function (r) { return r.objective === choice.slice(10); });
    return refs.some(function (r) { return r.ref === choice.slice(4); });
  }

  // "which controls protect this path or port": a glob resource matches the paths it stands for
  function globRegex(glob) {
    var re = "";
    for (var i = 0; i < glob.length; i++) {
      var ch = glob[i];
      if (ch === "*" && glob[i + 1] === "*") { re += ".*"; i++; }
      else if (ch === "*") re += "[^/]*";
      else if (ch === "?") re += "[^/]";
      else if (ch === "[") {
        var end = glob.indexOf("]", i + 2);
        if (end < 0) { re += "\\["; continue; }
        var body = glob.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\");
        re += "[" + body + "]";
        i = end;
      } else re += ch.replace(/[.+^$(){}|\\\]]/g, "\\$&");
    }
    return new RegExp("^" + re + "$");
  }
  function resourceMatches(r, q) {
    if (r.name === q) return true;
    if (/^\d+$/.test(q)) return r.resource === "port" && r.name === q;
    if (r.glob) { try { return globRegex(r.name).test(q); } catch (e) { return false; } }
    if (q.charAt(0) !== "/") return r.name.toLowerCase() === q.toLowerCase() || (r.resource === "service" && r.name === q + ".service");
    return false;
  }
  var searchResult = document.getElementById("search-result");
  function searchMatches(q) {
    if (!q) return null;
    return ofKind("resource").filter(function (r) { return resourceMatches(r, q); });
  }
  function protectingControls(resources) {
    var ids = new Set();
    var resourceIds = new Set(resources.map(function (r) { return r.id; }));
    controls.forEach(function (c) {
      promisesOf.get(c.id).forEach(function (p) {
        if (targets(p.id, "promise-resource").some(function (r) { return resourceIds.has(r.id); })) ids.add(c.id);
      });
    });
    return ids;
  }
  function showSearch(q, resources) {
    clear(searchResult);
    if (resources === null) return;
    if (resources.length === 0) { searchResult.appendChild(el("p", { className: "none", text: "No control watches " + q + "." })); return; }
    var list = el("ul");
    resources.forEach(function (r) {
      var told = new Set();
      var by = [];
      map.edges.forEach(function (e) {
        if (e.kind !== "promise-resource" || e.to !== r.id) return;
        var p = byId.get(e.from);
        by.push(p.control);
        targets(p.id, "promise-stakeholder").forEach(function (s) { told.add(s.name + (s.channels ? " (" + s.channels.join(", ") + ")" : "")); });
        targets("control:" + p.control, "control-owner").forEach(function (s) { told.add(s.name + (s.channels ? " (" + s.channels.join(", ") + ")" : "") + ", owner"); });
      });
      list.appendChild(el("li", {}, [el("strong", { text: r.resource + " " + r.name }), " watched by " + Array.from(new Set(by)).join(", ") + "; told when it drifts: " + (told.size > 0 ? Array.from(told).join("; ") : "nobody named")]));
    });
    searchResult.appendChild(list);
  }

  // the list of controls
  var list = document.getElementById("controls");
  var items = new Map();
  controls.forEach(function (c) {
    var button = el("button", { type: "button", className: "control-button" }, [
      el("span", { className: "control-id", text: c.control }),
      el("span", { className: "control-title", text: c.title }),
      el("span", { className: "meta", text: [c.owner ? "owner " + c.owner : "no owner", c.severity, c.key ? "key control" : ""].filter(Boolean).join(" · ") }),
      c.verdict ? el("span", { className: "outcome outcome-" + c.verdict, text: c.verdict }) : null,
    ]);
    button.addEventListener("click", function () { showControl(c); });
    var item = el("li", { className: "control", "data-id": c.control }, [button]);
    items.set(c.id, item);
    list.appendChild(item);
  });

  function applyFilters() {
    var ref = refSelect.value;
    var owner = document.getElementById("filter-owner").value;
    var stakeholder = document.getElementById("filter-stakeholder").value;
    var q = document.getElementById("search").value.trim();
    var found = searchMatches(q);
    var protecting = found === null ? null : protectingControls(found);
    var shown = 0;
    controls.forEach(function (c) {
      var visible = refMatches(c, ref) && (!owner || c.owner === owner) && (!stakeholder || stakeholdersOf(c).has(stakeholder)) && (protecting === null || protecting.has(c.id));
      items.get(c.id).hidden = !visible;
      if (visible) shown++;
    });
    document.getElementById("shown").textContent = "Showing " + shown + " of " + plural(controls.length, "control") + ".";
    showSearch(q, found);
  }
  ["filter-ref", "filter-owner", "filter-stakeholder"].forEach(function (id) { document.getElementById(id).addEventListener("change", applyFilters); });
  document.getElementById("search").addEventListener("input", applyFilters);

  // a control's promises, what they watch, who is told, and their outcomes
  var detail = document.getElementById("detail");
  function showControl(c) {
    items.forEach(function (item) { item.classList.remove("selected"); });
    items.get(c.id).classList.add("selected");
    clear(detail);
    detail.appendChild(el("h2", { text: c.control + ": " + c.title }));
    var meta = [["Owner", c.owner || "none"], ["Severity", c.severity], ["Key control", c.key ? "yes" : "no"]];
    if (map.state) meta.push(["Verdict", c.verdict || "not recorded"]);
    var dl = el("dl");
    meta.forEach(function (m) { dl.appendChild(el("dt", { text: m[0] })); dl.appendChild(el("dd", { text: m[1] })); });
    dl.appendChild(el("dt", { text: "References" }));
    dl.appendChild(el("dd", { text: c.refs.length > 0 ? c.refs.join(", ") : "none" }));
    detail.appendChild(dl);
    var table = el("table", { className: "promises" });
    table.appendChild(el("thead", {}, [el("tr", {}, ["Promise", "Watches", "Told", "Outcome"].map(function (h) { return el("th", { text: h }); }))]));
    var body = el("tbody");
    promisesOf.get(c.id).forEach(function (p) {
      var outcome = p.outcome ? p.outcome + (p.since ? " since " + p.since : "") + (p.reason ? ": " + p.reason : "") : map.state ? "not recorded" : "no state given";
      body.appendChild(el("tr", { className: "promise", "data-key": p.key }, [
        el("td", { text: p.key.slice(p.control.length + 1) }),
        el("td", { text: targets(p.id, "promise-resource").map(function (r) { return r.resource + " " + r.name; }).join(", ") }),
        el("td", { text: targets(p.id, "promise-stakeholder").map(function (s) { return s.name; }).join(", ") || "\u2014" }),
        el("td", { className: "outcome-cell" + (p.outcome ? " outcome-" + p.outcome : "") }, [el("span", { className: "outcome-text", text: outcome })]),
      ]));
    });
    table.appendChild(body);
    detail.appendChild(table);
  }

  // the frameworks: references with their control counts, and COBIT's processes with none
  var panel = document.getElementById("frameworks-body");
  // COBIT is listed even when the policy cites none of it: then each process it should cover has no control
  Array.from(new Set(Array.from(frameworks.keys()).concat(["COBIT"]))).sort().forEach(function (f) {
    if (!frameworks.has(f)) frameworks.set(f, []);
    var section = el("section", { className: "framework", "data-framework": f }, [el("h3", { text: f })]);
    var rows = frameworks.get(f).map(function (r) {
      var n = controls.filter(function (c) { return c.refs.indexOf(r.ref) >= 0; }).length;
      return el("li", {}, [r.ref + ": " + plural(n, "control")]);
    });
    section.appendChild(el("ul", { className: "refs" }, rows));
    if (f === "COBIT") {
      var objectives = new Set(COBIT_USED);
      frameworks.get(f).forEach(function (r) { if (r.objective) objectives.add(r.objective); });
      var ul = el("ul", { className: "objectives" });
      Array.from(objectives).sort().forEach(function (o) {
        var n = controls.filter(function (c) { return targets(c.id, "control-ref").some(function (r) { return r.objective === o; }); }).length;
        ul.appendChild(el("li", { className: n === 0 ? "none" : "", "data-objective": o, text: "COBIT " + o + ": " + (n === 0 ? "no control" : plural(n, "control")) }));
      });
      section.appendChild(el("h4", { text: "COBIT processes the control library uses" }));
      section.appendChild(ul);
    }
    panel.appendChild(section);
  });
  applyFilters();
})();
`;
