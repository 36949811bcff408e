// Unit page: sort the sub-units table in place when a column header is clicked (the header links
// sort on the server when JavaScript is off). Rows without figures (too few responses) stay last.
(function () {
  "use strict";
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    var headers = Array.prototype.slice.call(table.querySelectorAll("thead th"));
    headers.forEach(function (th, column) {
      var link = th.querySelector("a[data-sort-key]");
      if (!link) { return; }
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var key = link.dataset.sortKey;
        var ascendingFirst = key === "rank" || key === "name";
        var ascending = th.getAttribute("aria-sort") ? th.getAttribute("aria-sort") !== "ascending" : ascendingFirst;
        sortBy(table, column, ascending, key === "name");
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        if (window.history && window.history.replaceState) {
          window.history.replaceState(null, "", "?sort=" + (ascending === ascendingFirst ? "" : "-") + key);
        }
      });
    });
  });

  function sortBy(table, column, ascending, asText) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var shown = rows.filter(function (row) { return !row.hasAttribute("data-hidden-figures"); });
    var hidden = rows.filter(function (row) { return row.hasAttribute("data-hidden-figures"); });
    function value(row) {
      var raw = row.cells[column].getAttribute("data-sort-value");
      if (raw === null || raw === "") { return null; }
      return asText ? raw.toLocaleLowerCase() : parseFloat(raw);
    }
    shown.sort(function (a, b) {
      var x = value(a), y = value(b);
      if (x === null || y === null) { return (x === null) - (y === null); }
      var order = asText ? x.localeCompare(y, document.documentElement.lang || undefined) : x - y;
      return ascending ? order : -order;
    });
    shown.concat(hidden).forEach(function (row) { body.appendChild(row); });
  }
}());
