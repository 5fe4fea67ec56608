// essor's only script: it enhances, it is never needed (every page works without it).
// - A commune typed in lower case or without accents is matched to the list's spelling.
// - On the application's steps, an eligibility pre-check is refreshed as the form is filled.
(function () {
  "use strict";
  // Lets the styles (and the browser tests) know the script runs.
  document.documentElement.classList.add("js");

  function fold(s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[-'’]/g, " ").replace(/\s+/g, " ").trim().toLowerCase();
  }

  document.querySelectorAll("input[list]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) { return; }
    input.addEventListener("change", function () {
      var wanted = fold(input.value);
      for (var i = 0; i < list.options.length; i++) {
        if (fold(list.options[i].value) === wanted) {
          input.value = list.options[i].value;
          return;
        }
      }
    });
  });

  var form = document.querySelector("form[data-precheck]");
  if (!form || !window.fetch || !form.dataset.precheck) { return; }
  var box = document.createElement("div");
  box.className = "precheck";
  box.setAttribute("role", "status");
  box.setAttribute("aria-live", "polite");
  var button = form.querySelector("button[type=submit]");
  form.insertBefore(box, button);
  var timer = null;

  function render(report) {
    var failing = report.criteria.filter(function (c) { return c.outcome === "fail"; });
    var title = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = "Pré-vérification : " + report.verdict_label;
    title.appendChild(strong);
    box.replaceChildren(title);
    if (failing.length) {
      var ul = document.createElement("ul");
      failing.forEach(function (c) {
        var li = document.createElement("li");
        li.textContent = c.label + " – " + c.detail;
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
  }

  function check() {
    var body = new URLSearchParams(new FormData(form));
    fetch(form.dataset.precheck, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (report) {
      if (report) { render(report); } else { box.replaceChildren(); }
    }).catch(function () { box.replaceChildren(); });
  }

  form.addEventListener("change", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
})();
