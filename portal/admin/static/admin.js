// Gatehouse admin portal: the little script the server-rendered pages
// need. Every form works without it; it only asks before destructive
// actions (forms with data-confirm) and shows an upload's progress.
"use strict";
document.addEventListener("submit", function (ev) {
  var f = ev.target;
  if (f instanceof HTMLFormElement && f.dataset.confirm && !window.confirm(f.dataset.confirm)) {
    ev.preventDefault();
  }
}, true);
