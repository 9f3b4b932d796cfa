// thinklens viewer: progressive enhancement only.  Every page works without this file.
// Loaded from 'self' (the CSP allows no inline script).  Never inserts untrusted HTML:
// only textContent and KaTeX (trust: false) touch the page.
(function () {
  "use strict";

  // ---- math: render exactly the spans the server marked ----------------------------
  // throwOnError: a formula KaTeX cannot parse stays as its source text (the catch below);
  // KaTeX's own error display sets a style attribute, which the CSP blocks (a console error).
  var KATEX_OPTIONS = { throwOnError: true, trust: false, strict: "ignore", maxSize: 20, maxExpand: 500 };

  // <html data-viewer-ready="1"> once the page's first math pass is done (tests wait on it)
  function markReady() { document.documentElement.setAttribute("data-viewer-ready", "1"); }

  function renderMath(root, done) {
    if (!window.katex) { if (done) done(); return; }
    var spans = Array.prototype.slice.call(root.querySelectorAll("span.math:not([data-done])"));
    var i = 0;
    function batch() {
      var end = Math.min(i + 300, spans.length);
      for (; i < end; i++) {
        var el = spans[i];
        if (el.closest("details:not([open])")) continue; // rendered when opened
        el.setAttribute("data-done", "1");
        try {
          window.katex.render(el.textContent, el, Object.assign({ displayMode: el.classList.contains("display") }, KATEX_OPTIONS));
        } catch (e) { /* leave the source text */ }
      }
      if (i < spans.length) setTimeout(batch, 0);
      else if (done) done();
    }
    batch();
  }

  document.addEventListener("toggle", function (ev) {
    if (ev.target.tagName === "DETAILS" && ev.target.open) renderMath(ev.target);
  }, true);

  // ---- links into a closed <details> (first correct step) open it --------------------
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[href^='#step-']");
    if (!a) return;
    var target = document.getElementById(a.getAttribute("href").slice(1));
    if (!target) return;
    var d = target.closest("details");
    if (d && !d.open) d.open = true;
    ev.preventDefault();
    renderMath(d || document);
    target.scrollIntoView({ block: "center" });
  });

  // ---- keyboard: left/right arrows for previous/next sample --------------------------
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") return;
    var rel = ev.key === "ArrowLeft" ? "prev" : ev.key === "ArrowRight" ? "next" : null;
    if (!rel) return;
    var link = document.querySelector(".prevnext a[rel=" + rel + "]");
    if (link) window.location.href = link.href;
  });

  // ---- samples filter form: selects apply at once ------------------------------------
  var form = document.getElementById("filter-form");
  if (form) {
    Array.prototype.forEach.call(form.querySelectorAll("select.auto"), function (s) {
      s.addEventListener("change", function () { form.submit(); });
    });
  }

  // ---- runs list: compare needs two runs ---------------------------------------------
  var compareButton = document.getElementById("compare-button");
  if (compareButton) {
    var picks = document.querySelectorAll("input.pick");
    var update = function () {
      var n = document.querySelectorAll("input.pick:checked").length;
      compareButton.disabled = n < 2;
      var hint = document.getElementById("compare-hint");
      if (hint) hint.hidden = n >= 2;
    };
    Array.prototype.forEach.call(picks, function (p) { p.addEventListener("change", update); });
    update();
  }

  // ---- live updates while a run is in progress ---------------------------------------
  var body = document.body;
  var liveUrl = body.getAttribute("data-live-url");
  if (liveUrl && window.fetch) {
    var versions = {};
    try { versions = JSON.parse(body.getAttribute("data-live-versions") || "{}"); } catch (e) { versions = {}; }
    var delay = 3000;
    var poll = function () {
      if (document.hidden) { setTimeout(poll, delay); return; }
      fetch(liveUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          var anyRunning = false;
          if (data && data.runs) {
            Object.keys(data.runs).forEach(function (rid) {
              var p = data.runs[rid];
              if (p.state !== "complete") anyRunning = true;
              Array.prototype.forEach.call(document.querySelectorAll("[data-live-run]"), function (el) {
                if (el.getAttribute("data-live-run") !== rid) return;
                var field = el.getAttribute("data-live-field");
                if (field === "progress") { el.max = Math.max(p.planned, 1); el.value = p.generated; }
                else if (field === "state") { el.textContent = p.state_label || p.state; el.className = "state s-" + p.state; }
                else if (field in p) { el.textContent = Number(p[field]).toLocaleString("en-US"); }
              });
              if (versions[rid] !== undefined && p.version !== versions[rid]) {
                document.getElementById("live-banner").hidden = false;
              }
            });
          }
          delay = anyRunning ? 3000 : 15000;
          setTimeout(poll, delay);
        })
        .catch(function () { setTimeout(poll, 15000); });
    };
    setTimeout(poll, delay);
  }

  renderMath(document, markReady);
})();
