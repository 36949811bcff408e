// Staff pages: a table too wide (or, in a box of limited height, too long) for its .table-responsive
// box scrolls inside it. Such a box must be reachable from the keyboard (to scroll it with the arrow keys) and be named for a
// screen reader: it gets tabindex="0", role="region" and the name of the nearest heading, while it
// scrolls (a box that fits gets no tab stop). Boxes a template already made focusable are left alone.
(function () {
  "use strict";

  function nameOf(box) {
    const table = box.querySelector("table");
    const caption = table && table.caption;
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    const holder = box.closest(".card, section") || document;
    const heading = holder.querySelector("h1, h2, h3, .card-header");
    return heading ? heading.textContent.trim().replace(/\s+/g, " ") : document.title;
  }

  function mark() {
    document.querySelectorAll(".table-responsive").forEach(function (box) {
      if (box.hasAttribute("tabindex") && !box.dataset.scrollMarked) return;
      const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
      if (scrolls && !box.dataset.scrollMarked) {
        box.dataset.scrollMarked = "1";
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
          box.setAttribute("aria-label", nameOf(box));
          box.dataset.scrollNamed = "1";
        }
      } else if (!scrolls && box.dataset.scrollMarked) {
        delete box.dataset.scrollMarked;
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        if (box.dataset.scrollNamed) box.removeAttribute("aria-label");
        delete box.dataset.scrollNamed;
      }
    });
  }

  mark();
  let pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(mark, 150);
  });
})();
