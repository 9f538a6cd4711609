// The evidence report's only script, inlined (the CSP allows it by its hash): a filter over the
// summary's controls table, by text and by "has exceptions". A convenience only: without it the
// table is whole and the filter stays hidden, and the print stylesheet shows every row. It reads
// the rows' own text (textContent) and writes nothing but the `hidden` flag and a count.
export const REPORT_SCRIPT = String.raw`
"use strict";
(function () {
  var box = document.getElementById("control-filter");
  var input = document.getElementById("filter-text");
  var only = document.getElementById("filter-exceptions");
  var shown = document.getElementById("filter-shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#controls-table tbody tr[data-control]"));
  if (!box || !input || !only || !shown || rows.length === 0) return;
  function apply() {
    var words = input.value.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
    var count = 0;
    rows.forEach(function (tr) {
      var said = tr.textContent.toLowerCase();
      var match = words.every(function (w) { return said.indexOf(w) >= 0; }) && (!only.checked || tr.classList.contains("has-exceptions"));
      tr.hidden = !match;
      if (match) count++;
    });
    shown.textContent = "Showing " + count + " of " + rows.length + " controls.";
  }
  input.addEventListener("input", apply);
  only.addEventListener("change", apply);
  box.hidden = false;
  apply();
})();
`;
