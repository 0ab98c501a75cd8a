// Gatehouse developer portal: the few things pages do with script.
// Served by the binary; no inline script anywhere (strict CSP).
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  // Keys are never in the page source: Show and Copy fetch them.
  async function fetchKey(sub, slot) {
    const res = await fetch("/subscriptions/" + encodeURIComponent(sub) + "/keys", {
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
      credentials: "same-origin",
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || res.statusText);
    return slot === "primary" ? body.primaryKey : body.secondaryKey;
  }
  function keyCell(sub, slot) {
    return document.querySelector('code.key[data-sub="' + CSS.escape(sub) + '"][data-slot="' + CSS.escape(slot) + '"]');
  }
  document.querySelectorAll("button.show-key").forEach((b) => {
    b.addEventListener("click", async () => {
      const cell = keyCell(b.dataset.sub, b.dataset.slot);
      if (b.dataset.shown === "1") {
        cell.textContent = "••••••••••••••••••••";
        b.dataset.shown = "";
        b.textContent = "Show";
        return;
      }
      try {
        cell.textContent = await fetchKey(b.dataset.sub, b.dataset.slot);
        b.dataset.shown = "1";
        b.textContent = "Hide";
      } catch (e) {
        cell.textContent = "could not load: " + e.message;
      }
    });
  });
  document.querySelectorAll("button.copy-key").forEach((b) => {
    b.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(await fetchKey(b.dataset.sub, b.dataset.slot));
        b.textContent = "Copied";
      } catch (e) {
        b.textContent = "Copy failed";
      }
      setTimeout(() => { b.textContent = "Copy"; }, 1500);
    });
  });
  document.querySelectorAll("form.confirm").forEach((f) => {
    f.addEventListener("submit", (ev) => {
      if (!window.confirm(f.dataset.confirm)) ev.preventDefault();
    });
  });
})();
