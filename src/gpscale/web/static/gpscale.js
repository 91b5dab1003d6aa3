/* gpscale dashboard: progressive enhancement only (every page works without script).
   - live search: typing in the search box fetches /search?partial=1 and lists matches below it;
   - selects marked data-autosubmit submit their form when changed (forms also have a submit button). */
(function () {
  "use strict";
  var input = document.getElementById("search-q");
  var box = document.getElementById("search-results");
  var timer = null, last = "";
  if (input && box) {
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q === last) { return; }
        last = q;
        if (q.length < 2) { box.innerHTML = ""; return; }
        fetch("/search?partial=1&q=" + encodeURIComponent(q), { headers: { "Accept": "text/html" } })
          .then(function (r) { return r.ok ? r.text() : ""; })
          .then(function (html) { if (input.value.trim() === q) { box.innerHTML = html; } })
          .catch(function () { box.innerHTML = ""; });
      }, 250);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { box.innerHTML = ""; }
      if (e.key === "ArrowDown") {
        var first = box.querySelector("a");
        if (first) { e.preventDefault(); first.focus(); }
      }
    });
    box.addEventListener("keydown", function (e) {
      var links = Array.prototype.slice.call(box.querySelectorAll("a"));
      var i = links.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && i < links.length - 1) { e.preventDefault(); links[i + 1].focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); if (i > 0) { links[i - 1].focus(); } else { input.focus(); } }
      if (e.key === "Escape") { box.innerHTML = ""; input.focus(); }
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), function (s) {
    s.addEventListener("change", function () { if (s.form) { s.form.submit(); } });
  });
})();
