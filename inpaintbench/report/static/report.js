"use strict";
/* Sortable tables, a lightbox and its before/after slider. No library, no network. */
(function () {
  function sortKey(cell, numeric) {
    var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
    if (!numeric) return raw;
    return raw === "" ? NaN : parseFloat(raw);
  }

  function sortBy(th) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var column = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.getAttribute("data-type") === "num";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortKey(a.children[column], numeric), y = sortKey(b.children[column], numeric);
      if (numeric) {
        if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y); /* missing values always last */
        return ascending ? x - y : y - x;
      }
      return ascending ? x.localeCompare(y) : y.localeCompare(x);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  var box = document.getElementById("lightbox");
  var over = document.getElementById("lb-over");
  var under = document.getElementById("lb-under");
  var range = document.getElementById("lb-range");
  var slider = document.getElementById("lb-slider");
  var stage = box.querySelector(".lb-stage");
  var lastFocus = null;

  function setDivide() {
    over.style.clipPath = "inset(0 " + (100 - Number(range.value)) + "% 0 0)";
    stage.style.setProperty("--divide", range.value + "%");
  }

  /* In the comparison grid an image is compared with the ground truth of its row (the truth with the input). */
  function partner(img) {
    var row = img.closest("table.grid tr");
    if (!row) return null;
    return row.querySelector(img.classList.contains("truth") ? "img.masked" : "img.truth");
  }

  function open(img) {
    var other = partner(img);
    lastFocus = document.activeElement;
    over.src = img.src;
    over.alt = img.alt;
    document.getElementById("lb-caption").textContent = img.alt;
    if (other) {
      under.src = other.src;
      under.alt = other.alt;
      document.getElementById("lb-left").textContent = img.parentNode.getAttribute("data-name");
      document.getElementById("lb-right").textContent = other.parentNode.getAttribute("data-name");
      range.value = 50;
    }
    under.hidden = slider.hidden = !other;
    stage.classList.toggle("compare", !!other);
    over.style.clipPath = "";
    if (other) setDivide();
    box.hidden = false;
    box.querySelector(".lb-close").focus();
  }

  function close() {
    box.hidden = true;
    if (lastFocus) lastFocus.focus();
  }

  document.addEventListener("click", function (event) {
    var sort = event.target.closest("th > button.sort");
    if (sort) return sortBy(sort.parentNode);
    var zoom = event.target.closest("button.zoom");
    if (zoom) return open(zoom.querySelector("img"));
    if (!box.hidden && (event.target === box || event.target.closest(".lb-close"))) close();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !box.hidden) close();
  });
  range.addEventListener("input", setDivide);
})();
