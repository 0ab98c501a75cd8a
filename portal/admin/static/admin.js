// Gatehouse admin portal: the little script the server-rendered pages
// need. Every form works without it; it asks before destructive actions
// (forms with data-confirm), fetches a subscription's keys on demand (never
// in the page source) and shows a module upload's progress.
"use strict";
(function () {
  var csrf = document.querySelector('meta[name="csrf-token"]');
  csrf = csrf ? csrf.content : "";

  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!(f instanceof HTMLFormElement)) return;
    if (f.dataset.confirm && !window.confirm(f.dataset.confirm)) {
      ev.preventDefault();
      return;
    }
    if (f.id === "module-form" && window.XMLHttpRequest) {
      ev.preventDefault();
      upload(f);
    }
  }, true);

  document.addEventListener("click", function (ev) {
    var b = ev.target;
    if (!(b instanceof HTMLElement) || !b.classList.contains("show-keys")) return;
    var out = b.parentElement.querySelector(".keys");
    fetch(b.dataset.keys, { credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRF-Token": csrf } })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (x) {
        out.textContent = x.ok ? " primary " + x.j.primaryKey + " · secondary " + x.j.secondaryKey : " " + (x.j.error || "refused");
        b.hidden = x.ok;
      })
      .catch(function () { out.textContent = " could not fetch the keys"; });
  });

  // upload sends the module form with progress; the answer is the page
  // the server would have shown (the module's page or the form with the
  // host's refusal).
  function upload(f) {
    var bar = document.getElementById("module-progress");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", f.action);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    if (bar) {
      bar.hidden = false;
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
    }
    xhr.onload = function () {
      if (xhr.responseURL && xhr.responseURL !== f.action) {
        window.location.assign(xhr.responseURL);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    };
    xhr.onerror = function () { f.submit(); };
    xhr.send(new FormData(f));
  }
})();
