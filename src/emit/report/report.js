(function () {
  "use strict";

  // Sortable tables: headers with data-sort get a button; cells may carry
  // data-value to sort by instead of their text.
  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) return numeric ? 0 : "";
    var value = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent;
    return numeric ? (parseFloat(value) || 0) : value.trim().toLowerCase();
  }

  function sortBy(table, header, index) {
    var numeric = header.getAttribute("data-sort") === "number";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var headers = table.tHead.rows[0].cells;
    for (var i = 0; i < headers.length; i++) headers[i].removeAttribute("aria-sort");
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, position) { row.setAttribute("data-position", position); });
    rows.sort(function (a, b) {
      var x = cellValue(a, index, numeric);
      var y = cellValue(b, index, numeric);
      var order = 0;
      if (x < y) order = -1;
      if (x > y) order = 1;
      if (!ascending) order = -order;
      return order || (a.getAttribute("data-position") - b.getAttribute("data-position"));
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      if (!header.hasAttribute("data-sort")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = header.textContent;
      button.title = "Sort by " + header.textContent;
      header.textContent = "";
      header.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, header, index); });
    });
  });

  // Filters: each select names a data- attribute of the finding rows and
  // sections; an empty value matches everything.
  var bar = document.getElementById("filters");
  if (!bar) return;
  var selects = Array.prototype.slice.call(bar.querySelectorAll("select"));
  var targets = Array.prototype.slice.call(document.querySelectorAll("[data-filterable]"));
  var rows = targets.filter(function (element) { return element.tagName === "TR"; });
  var counter = document.getElementById("filter-count");

  function matches(element) {
    return selects.every(function (select) {
      return select.value === "" || element.getAttribute("data-" + select.name) === select.value;
    });
  }

  function apply() {
    var shown = 0;
    targets.forEach(function (element) {
      var visible = matches(element);
      element.hidden = !visible;
      if (visible && element.tagName === "TR") shown++;
    });
    counter.textContent = shown + " of " + rows.length + " findings shown";
  }

  selects.forEach(function (select) { select.addEventListener("change", apply); });
  document.getElementById("filter-reset").addEventListener("click", function () {
    selects.forEach(function (select) { select.value = ""; });
    apply();
  });
  bar.hidden = false;
  apply();
})();
