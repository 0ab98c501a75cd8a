// policy-editor.js: the admin portal's policy editor (docs/admin-portal.md,
// "The policy editor"). Plain JavaScript, no framework, no eval; the DOM
// is built with createElement/textContent only, never innerHTML, so
// nothing from the catalog is ever parsed as markup. Mounted on
// <div id="policy-editor" data-scope data-scope-id data-csrf data-api
// data-can-write>; talks to the admin REST API with the session cookie and
// the X-CSRF-Token header.
(function () {
  "use strict";

  const root = document.getElementById("policy-editor");
  if (!root) {
    return;
  }
  const SCOPE = root.dataset.scope || "global";
  const SCOPE_ID = root.dataset.scopeId || "";
  const CSRF = root.dataset.csrf || "";
  const API = (root.dataset.api || "/admin/v1").replace(/\/+$/, "");
  const CAN_WRITE = root.dataset.canWrite === "true";
  const SECTIONS = [
    ["inbound", "Inbound", "runs on the request, before the backend"],
    ["backend", "Backend", "runs around the call to the backend"],
    ["outbound", "Outbound", "runs on the response"],
    ["onError", "On error", "runs when a step fails"],
  ];
  const SCOPES = ["global", "product", "api", "operation"];
  const FAIL_MODES = [
    ["", "closed (default): an error fails the request"],
    ["open", "open: an error skips the entry"],
    ["fallback", "fallback: an error runs another module"],
  ];

  // For the operation scope the page's scope ID is "<apiId>/<operationId>";
  // operation IDs are unique, so the policy document is addressed by the
  // operation ID alone and the API ID is needed for the effective policy.
  let apiID = "";
  let docID = SCOPE_ID;
  if (SCOPE === "operation") {
    const i = SCOPE_ID.indexOf("/");
    if (i >= 0) {
      apiID = SCOPE_ID.slice(0, i);
      docID = SCOPE_ID.slice(i + 1);
    }
  }
  const DOC_PATH = SCOPE === "global" ? "/policies/global" : "/policies/" + encodeURIComponent(SCOPE) + "/" + encodeURIComponent(docID);

  // ---- small DOM helpers ----

  function el(tag, attrs) {
    const n = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const v = attrs[k];
        if (v === undefined || v === null || v === false) {
          continue;
        }
        if (k === "text") {
          n.textContent = String(v);
        } else if (k === "class") {
          n.className = v;
        } else if (k.startsWith("on") && typeof v === "function") {
          n.addEventListener(k.slice(2), v);
        } else if (v === true) {
          n.setAttribute(k, "");
        } else {
          n.setAttribute(k, String(v));
        }
      }
    }
    for (let i = 2; i < arguments.length; i++) {
      append(n, arguments[i]);
    }
    return n;
  }

  function append(n, c) {
    if (c === undefined || c === null || c === false) {
      return;
    }
    if (Array.isArray(c)) {
      c.forEach((x) => append(n, x));
    } else if (typeof c === "string") {
      n.appendChild(document.createTextNode(c));
    } else {
      n.appendChild(c);
    }
  }

  function clear(n) {
    while (n.firstChild) {
      n.removeChild(n.firstChild);
    }
  }

  let idSeq = 0;
  function nextID(prefix) {
    idSeq++;
    return "pe-" + prefix + "-" + idSeq;
  }

  // ---- the admin API ----

  async function api(method, path, body, headers) {
    const h = { Accept: "application/json", "X-CSRF-Token": CSRF };
    if (body !== undefined) {
      h["Content-Type"] = "application/json";
    }
    Object.assign(h, headers || {});
    let res;
    try {
      res = await fetch(API + path, {
        method: method,
        credentials: "same-origin",
        headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      return { status: 0, ok: false, data: null, etag: null, error: "the admin API did not answer (" + e.message + ")" };
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    let error = "";
    if (!res.ok) {
      error = data && data.error && data.error.message ? data.error.message : "HTTP " + res.status;
    }
    return { status: res.status, ok: res.ok, data: data, etag: res.headers.get("ETag"), error: error };
  }

  // ---- documents ----

  // shape is a document with a fixed key order (entry keys in the order a
  // reader expects, config keys sorted), used for display, the diff and
  // every comparison, so two equal documents print alike.
  function sortKeys(v) {
    if (Array.isArray(v)) {
      return v.map(sortKeys);
    }
    if (v && typeof v === "object") {
      const o = {};
      Object.keys(v).sort().forEach((k) => {
        o[k] = sortKeys(v[k]);
      });
      return o;
    }
    return v;
  }

  function shapeEntry(e) {
    if (e.base) {
      return { base: true };
    }
    const o = {};
    for (const k of ["module", "policy", "failMode", "fallback"]) {
      if (e[k] !== undefined && e[k] !== "") {
        o[k] = e[k];
      }
    }
    if (e.config !== undefined && e.config !== null) {
      o.config = sortKeys(e.config);
    }
    return o;
  }

  function shape(doc) {
    const o = { scope: doc.scope || SCOPE };
    if (doc.scopeId) {
      o.scopeId = doc.scopeId;
    }
    for (const [s] of SECTIONS) {
      const sec = doc[s];
      o[s] = Array.isArray(sec) ? sec.map(shapeEntry) : null;
    }
    return o;
  }

  function pretty(doc) {
    return JSON.stringify(shape(doc), null, 2);
  }

  let uidSeq = 0;
  function item(entry) {
    uidSeq++;
    return { uid: "e" + uidSeq, e: shapeEntry(entry), errors: [] };
  }

  // The draft is the document being edited: its sections hold items
  // (entries with a stable client-side id, for focus and drag).
  function draftOf(doc) {
    const d = { scope: doc.scope || SCOPE, scopeId: doc.scopeId || (SCOPE === "global" ? "" : docID), sections: {} };
    for (const [s] of SECTIONS) {
      d.sections[s] = Array.isArray(doc[s]) ? doc[s].map(item) : null;
    }
    return d;
  }

  function docOf(d) {
    const o = { scope: d.scope };
    if (d.scopeId) {
      o.scopeId = d.scopeId;
    }
    for (const [s] of SECTIONS) {
      o[s] = d.sections[s] ? d.sections[s].map((it) => it.e) : null;
    }
    return o;
  }

  function emptyDoc() {
    const o = { scope: SCOPE };
    if (SCOPE !== "global") {
      o.scopeId = docID;
    }
    for (const [s] of SECTIONS) {
      o[s] = null;
    }
    return o;
  }

  function parseRef(ref) {
    const i = (ref || "").indexOf("@");
    return i < 0 ? { name: ref || "", version: "" } : { name: ref.slice(0, i), version: ref.slice(i + 1) };
  }

  function entryName(e) {
    if (e.base) {
      return "base";
    }
    return e.policy || parseRef(e.module).name || "(no module)";
  }

  function summary(v) {
    if (v === undefined || v === null) {
      return "no config";
    }
    const s = JSON.stringify(v);
    return s.length > 140 ? s.slice(0, 139) + "…" : s;
  }

  // ---- modules ----

  function cmpSemver(a, b) {
    const pa = a.split(/[+-]/)[0].split(".").map(Number);
    const pb = b.split(/[+-]/)[0].split(".").map(Number);
    for (let i = 0; i < 3; i++) {
      if ((pa[i] || 0) !== (pb[i] || 0)) {
        return (pa[i] || 0) - (pb[i] || 0);
      }
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  // moduleGroups groups the module versions by name, newest first.
  function moduleGroups() {
    const by = new Map();
    for (const m of state.modules) {
      if (!by.has(m.name)) {
        by.set(m.name, []);
      }
      by.get(m.name).push(m);
    }
    const out = [];
    for (const [name, versions] of by) {
      versions.sort((a, b) => cmpSemver(b.version, a.version));
      out.push({ name: name, versions: versions });
    }
    out.sort((a, b) => a.name.localeCompare(b.name));
    return out;
  }

  function granted(m) {
    return !m.missingGrants || m.missingGrants.length === 0;
  }

  function policiesOf(m) {
    const ps = (m.manifest && m.manifest.policies) || [];
    if (ps.length === 0) {
      return [{ name: m.name, description: "", configSchema: m.manifest ? m.manifest.configSchema : undefined, isDefault: true }];
    }
    return ps;
  }

  // resolveModule mirrors catalog.ResolveGranted: a pinned reference is
  // that version; an unpinned one the newest granted version (else the
  // newest).
  function resolveModule(ref) {
    const r = parseRef(ref);
    const g = moduleGroups().find((x) => x.name === r.name);
    if (!g) {
      return null;
    }
    if (r.version) {
      return g.versions.find((m) => m.version === r.version) || null;
    }
    return g.versions.find(granted) || g.versions[0];
  }

  function policySchema(m, policy) {
    const ps = policiesOf(m);
    const p = ps.find((x) => x.name === (policy || m.name)) || (ps.length === 1 && ps[0].isDefault && !policy ? ps[0] : null);
    return p ? { found: true, schema: p.configSchema, description: p.description } : { found: false };
  }

  // ---- state ----

  const state = {
    loaded: null, // the document as loaded or last saved
    etag: null,
    draft: null,
    modules: [],
    modulesError: "",
    view: "entries",
    effectiveProduct: "",
    products: [],
  };

  function dirty() {
    return state.draft && pretty(docOf(state.draft)) !== pretty(state.loaded);
  }

  function findItem(uid) {
    for (const [s] of SECTIONS) {
      const sec = state.draft.sections[s];
      if (!sec) {
        continue;
      }
      const i = sec.findIndex((it) => it.uid === uid);
      if (i >= 0) {
        return { section: s, index: i, list: sec, item: sec[i] };
      }
    }
    return null;
  }

  function sectionLabel(s) {
    const x = SECTIONS.find((y) => y[0] === s);
    return x ? x[1] : s;
  }

  // ---- skeleton ----

  const live = el("div", { class: "pe-sr", id: "pe-live", "aria-live": "assertive", role: "status" });
  const statusBox = el("div", { class: "pe-status", id: "pe-status", role: "status", "aria-live": "polite" });
  const toolbar = el("div", { class: "pe-toolbar" });
  const main = el("div", { class: "pe-main", id: "pe-main" });
  const panel = el("div", { class: "pe-panel", id: "pe-panel", hidden: true });
  const effective = el("section", { class: "pe-effective", id: "pe-effective", hidden: true, "aria-labelledby": "pe-eff-h" });
  const scopeTitle = SCOPE === "global" ? "global" : SCOPE + " " + SCOPE_ID;
  clear(root);
  append(root, [
    el("div", { class: "pe-head" },
      el("p", { class: "pe-scope" }, "Scope: ", el("code", { text: scopeTitle })),
      el("p", { class: "pe-mode", text: CAN_WRITE ? "" : "Read-only: your role can view policies but not change them." })),
    toolbar, statusBox, live, panel, main, effective,
  ]);

  function say(msg, kind) {
    statusBox.textContent = msg;
    statusBox.className = "pe-status" + (kind ? " pe-" + kind : "");
  }

  function announce(msg) {
    live.textContent = "";
    // A fresh text node after clearing makes screen readers repeat equal
    // messages (two moves in a row).
    window.setTimeout(() => {
      live.textContent = msg;
    }, 30);
  }

  function renderToolbar() {
    clear(toolbar);
    const tabs = el("div", { class: "pe-tabs", role: "tablist", "aria-label": "View" });
    for (const [v, label] of [["entries", "Entries"], ["json", "JSON"], ["yaml", "YAML"]]) {
      tabs.appendChild(el("button", {
        type: "button", role: "tab", class: "pe-tab", id: "pe-tab-" + v, "aria-selected": state.view === v ? "true" : "false",
        text: label, onclick: () => switchView(v),
      }));
    }
    toolbar.appendChild(tabs);
    if (CAN_WRITE) {
      const d = dirty();
      toolbar.appendChild(el("span", { class: "pe-dirty", id: "pe-dirty", text: d ? "Unsaved changes" : "Saved" }));
      toolbar.appendChild(el("button", { type: "button", id: "pe-discard", class: "pe-btn", disabled: !d, text: "Discard changes", onclick: discard }));
      toolbar.appendChild(el("button", { type: "button", id: "pe-review", class: "pe-btn pe-primary", disabled: !d, text: "Review and save…", onclick: openReview }));
    }
  }

  function switchView(v) {
    if (state.view === "json" && v !== "json" && CAN_WRITE) {
      const ta = document.getElementById("pe-json");
      if (ta && ta.value !== pretty(docOf(state.draft)) && !applyJSON(ta.value)) {
        return; // keep the user on the JSON with its error shown
      }
    }
    state.view = v;
    render();
  }

  function render() {
    renderToolbar();
    clear(main);
    if (!state.draft) {
      return;
    }
    if (state.view === "json") {
      renderJSON();
    } else if (state.view === "yaml") {
      main.appendChild(el("pre", { class: "pe-code", id: "pe-yaml", tabindex: "0", "aria-label": "The document as YAML (read-only)", text: toYAML(shape(docOf(state.draft))) }));
    } else {
      for (const [s, label, note] of SECTIONS) {
        main.appendChild(renderSection(s, label, note));
      }
    }
  }

  // ---- the entries view ----

  function renderSection(s, label, note) {
    const sec = state.draft.sections[s];
    const box = el("section", { class: "pe-section", "data-section": s, "aria-labelledby": "pe-h-" + s });
    const head = el("div", { class: "pe-section-head" },
      el("h3", { id: "pe-h-" + s, text: label }), el("span", { class: "pe-note", text: note }));
    box.appendChild(head);
    if (sec === null) {
      box.appendChild(el("p", {
        class: "pe-inherit-note",
        text: SCOPE === "global" ? "No entries." : "No section of its own: the parent scope's " + label.toLowerCase() + " entries run unchanged.",
      }));
    } else {
      const list = el("ol", { class: "pe-entries", "data-section": s, "aria-label": label + " entries" });
      sec.forEach((it, i) => list.appendChild(renderEntry(s, it, i, sec.length)));
      if (sec.length === 0) {
        list.appendChild(el("li", { class: "pe-empty", text: "Empty: nothing runs here" + (SCOPE === "global" ? "." : ", not even the parent's entries.") }));
      }
      if (CAN_WRITE) {
        list.addEventListener("dragover", (ev) => {
          if (dragUID) {
            ev.preventDefault();
            ev.dataTransfer.dropEffect = "move";
          }
        });
        list.addEventListener("drop", (ev) => {
          if (ev.defaultPrevented) {
            return;
          }
          ev.preventDefault();
          const uid = ev.dataTransfer.getData("text/plain") || dragUID;
          endDrag();
          if (uid) {
            moveTo(uid, s, state.draft.sections[s].length, "drag");
          }
        });
      }
      box.appendChild(list);
    }
    if (CAN_WRITE) {
      const actions = el("div", { class: "pe-section-actions" });
      actions.appendChild(el("button", {
        type: "button", class: "pe-btn pe-add", "data-section": s, text: "Add policy to " + label.toLowerCase(),
        onclick: () => openPicker(s),
      }));
      if (sec !== null && SCOPE !== "global") {
        actions.appendChild(el("button", {
          type: "button", class: "pe-btn pe-link pe-inherit", "data-section": s, text: "Inherit the parent's instead",
          onclick: () => {
            state.draft.sections[s] = null;
            say(label + " now inherits the parent's entries (not saved yet).");
            render();
          },
        }));
      }
      actions.appendChild(el("span", { class: "pe-hint", text: sec && sec.length > 1 ? "Drag an entry, or focus it and press Alt+↑ / Alt+↓, to reorder." : "" }));
      box.appendChild(actions);
    }
    return box;
  }

  let dragUID = "";

  function endDrag() {
    dragUID = "";
    document.querySelectorAll(".pe-dragging, .pe-drop-before, .pe-drop-after").forEach((n) => {
      n.classList.remove("pe-dragging", "pe-drop-before", "pe-drop-after");
    });
  }

  function renderEntry(s, it, i, n) {
    const e = it.e;
    const name = entryName(e);
    const li = el("li", {
      class: "pe-entry" + (e.base ? " pe-base" : "") + (it.errors.length ? " pe-has-error" : ""),
      "data-uid": it.uid, "data-name": name, tabindex: "0",
      "aria-label": name + ", " + (i + 1) + " of " + n + " in " + sectionLabel(s),
    });
    if (CAN_WRITE) {
      li.draggable = true;
      li.appendChild(el("span", { class: "pe-grip", "aria-hidden": "true", text: "⋮⋮" }));
    }
    const body = el("div", { class: "pe-entry-body" });
    if (e.base) {
      body.appendChild(el("strong", { class: "pe-entry-name", text: "base" }));
      body.appendChild(el("span", { class: "pe-entry-sum", text: SCOPE === "global" ? "global has no parent: base runs nothing here" : "the parent scope's " + sectionLabel(s).toLowerCase() + " entries run here" }));
    } else {
      body.appendChild(el("strong", { class: "pe-entry-name", text: name }));
      body.appendChild(el("code", { class: "pe-entry-ref", text: e.module + (e.policy ? " · " + e.policy : "") }));
      body.appendChild(el("span", { class: "pe-entry-sum", text: summary(e.config) }));
    }
    li.appendChild(body);
    if (!e.base) {
      li.appendChild(renderFailMode(it));
    }
    const btns = el("div", { class: "pe-entry-actions" });
    if (!e.base) {
      btns.appendChild(el("button", { type: "button", class: "pe-btn pe-edit", text: CAN_WRITE ? "Edit" : "Details", "aria-label": (CAN_WRITE ? "Edit " : "Details of ") + name, onclick: () => openForm({ section: s, uid: it.uid }) }));
    }
    if (CAN_WRITE) {
      btns.appendChild(el("button", { type: "button", class: "pe-btn pe-up", text: "↑", title: "Move up (Alt+↑)", "aria-label": "Move " + name + " up", disabled: i === 0, onclick: () => moveBy(it.uid, -1, "pe-up") }));
      btns.appendChild(el("button", { type: "button", class: "pe-btn pe-down", text: "↓", title: "Move down (Alt+↓)", "aria-label": "Move " + name + " down", disabled: i === n - 1, onclick: () => moveBy(it.uid, 1, "pe-down") }));
      btns.appendChild(el("button", { type: "button", class: "pe-btn pe-remove", text: "Remove", "aria-label": "Remove " + name, onclick: () => removeEntry(it.uid) }));
    }
    li.appendChild(btns);
    if (it.errors.length) {
      const ul = el("ul", { class: "pe-entry-errors" });
      it.errors.forEach((x) => ul.appendChild(el("li", { text: (x.path ? x.path + ": " : "") + x.message })));
      li.appendChild(ul);
    }
    if (CAN_WRITE) {
      li.addEventListener("keydown", (ev) => {
        if (ev.altKey && (ev.key === "ArrowUp" || ev.key === "ArrowDown")) {
          ev.preventDefault();
          moveBy(it.uid, ev.key === "ArrowUp" ? -1 : 1, "");
        }
      });
      li.addEventListener("dragstart", (ev) => {
        dragUID = it.uid;
        ev.dataTransfer.setData("text/plain", it.uid);
        ev.dataTransfer.effectAllowed = "move";
        li.classList.add("pe-dragging");
      });
      li.addEventListener("dragend", endDrag);
      li.addEventListener("dragover", (ev) => {
        if (!dragUID) {
          return;
        }
        ev.preventDefault();
        ev.dataTransfer.dropEffect = "move";
        const r = li.getBoundingClientRect();
        const before = ev.clientY < r.top + r.height / 2;
        li.classList.toggle("pe-drop-before", before);
        li.classList.toggle("pe-drop-after", !before);
      });
      li.addEventListener("dragleave", () => li.classList.remove("pe-drop-before", "pe-drop-after"));
      li.addEventListener("drop", (ev) => {
        ev.preventDefault();
        const uid = ev.dataTransfer.getData("text/plain") || dragUID;
        const r = li.getBoundingClientRect();
        const before = ev.clientY < r.top + r.height / 2;
        endDrag();
        const at = findItem(it.uid);
        if (uid && at) {
          moveTo(uid, at.section, at.index + (before ? 0 : 1), "drag");
        }
      });
    }
    return li;
  }

  function renderFailMode(it) {
    const e = it.e;
    const box = el("div", { class: "pe-failmode" });
    if (!CAN_WRITE) {
      box.appendChild(el("span", { class: "pe-fm-text", text: "fail mode: " + (e.failMode || "closed") + (e.fallback ? " → " + e.fallback : "") }));
      return box;
    }
    const id = nextID("fm");
    const sel = el("select", { id: id, class: "pe-fm" });
    for (const [v, label] of FAIL_MODES) {
      const o = el("option", { value: v, text: label.split(":")[0] });
      o.selected = (e.failMode || "") === v || (v === "" && e.failMode === "closed");
      sel.appendChild(o);
    }
    sel.addEventListener("change", () => {
      if (sel.value) {
        e.failMode = sel.value;
      } else {
        delete e.failMode;
      }
      if (sel.value !== "fallback") {
        delete e.fallback;
      }
      say("Fail mode of " + entryName(e) + " is now " + (sel.value || "closed") + " (not saved yet).");
      render();
      focusEntry(it.uid, "pe-fm");
    });
    box.appendChild(el("label", { for: id, class: "pe-fm-label", text: "Fail mode" }));
    box.appendChild(sel);
    if (e.failMode === "fallback") {
      const fid = nextID("fb");
      const inp = el("input", { id: fid, class: "pe-fallback", type: "text", value: e.fallback || "", placeholder: "module or module@version", spellcheck: "false" });
      inp.addEventListener("change", () => {
        if (inp.value.trim()) {
          e.fallback = inp.value.trim();
        } else {
          delete e.fallback;
        }
        renderToolbar();
      });
      box.appendChild(el("label", { for: fid, class: "pe-fm-label", text: "Fallback" }));
      box.appendChild(inp);
    }
    return box;
  }

  function focusEntry(uid, cls) {
    const li = main.querySelector('li.pe-entry[data-uid="' + uid + '"]');
    if (!li) {
      return;
    }
    const target = cls ? li.querySelector("." + cls) : null;
    if (target && !target.disabled) {
      target.focus();
    } else {
      li.focus();
    }
  }

  function moveBy(uid, delta, cls) {
    const at = findItem(uid);
    if (!at) {
      return;
    }
    const to = at.index + delta;
    if (to < 0 || to >= at.list.length) {
      announce(entryName(at.item.e) + " is already " + (delta < 0 ? "first" : "last") + " in " + sectionLabel(at.section) + ".");
      return;
    }
    at.list.splice(at.index, 1);
    at.list.splice(to, 0, at.item);
    afterMove(at.item, at.section, to, at.list.length, cls);
  }

  function moveTo(uid, section, index, how) {
    const at = findItem(uid);
    const dest = state.draft.sections[section];
    if (!at || !dest) {
      return;
    }
    at.list.splice(at.index, 1);
    if (at.list === dest && at.index < index) {
      index--;
    }
    index = Math.max(0, Math.min(index, dest.length));
    if (at.list === dest && index === at.index) {
      render();
      return;
    }
    dest.splice(index, 0, at.item);
    afterMove(at.item, section, index, dest.length, how === "drag" ? "" : how);
  }

  function afterMove(it, section, to, n, cls) {
    clearErrors();
    render();
    focusEntry(it.uid, cls);
    const msg = "Moved " + entryName(it.e) + " to position " + (to + 1) + " of " + n + " in " + sectionLabel(section) + ".";
    announce(msg);
    say(msg + " Not saved yet.");
  }

  function removeEntry(uid) {
    const at = findItem(uid);
    if (!at) {
      return;
    }
    const name = entryName(at.item.e);
    at.list.splice(at.index, 1);
    clearErrors();
    render();
    const next = at.list[Math.min(at.index, at.list.length - 1)];
    if (next) {
      focusEntry(next.uid, "");
    } else {
      const add = main.querySelector('.pe-add[data-section="' + at.section + '"]');
      if (add) {
        add.focus();
      }
    }
    const msg = "Removed " + name + " from " + sectionLabel(at.section) + (at.item.e.base ? ": the parent's entries no longer run here" : "") + ".";
    announce(msg);
    say(msg + " Not saved yet.");
  }

  function clearErrors() {
    for (const [s] of SECTIONS) {
      (state.draft.sections[s] || []).forEach((it) => {
        it.errors = [];
      });
    }
  }

  function discard() {
    state.draft = draftOf(state.loaded);
    closePanel();
    say("Changes discarded.");
    render();
  }

  // ---- JSON / YAML ----

  function renderJSON() {
    const id = "pe-json";
    main.appendChild(el("label", { for: id, class: "pe-label", text: CAN_WRITE ? "The whole document as JSON (edit, then Apply JSON)" : "The whole document as JSON (read-only)" }));
    const ta = el("textarea", { id: id, class: "pe-code pe-json", rows: "24", spellcheck: "false", readonly: !CAN_WRITE, "aria-describedby": "pe-json-err" });
    ta.value = pretty(docOf(state.draft));
    main.appendChild(ta);
    main.appendChild(el("p", { class: "pe-err", id: "pe-json-err", role: "alert", hidden: true }));
    if (CAN_WRITE) {
      main.appendChild(el("button", {
        type: "button", class: "pe-btn", id: "pe-json-apply", text: "Apply JSON",
        onclick: () => {
          if (applyJSON(ta.value)) {
            state.view = "entries";
            render();
          }
        },
      }));
    }
  }

  // applyJSON replaces the draft with the JSON text; on an error it shows
  // it under the text and changes nothing.
  function applyJSON(text) {
    const err = document.getElementById("pe-json-err");
    const fail = (msg) => {
      if (err) {
        err.textContent = msg;
        err.hidden = false;
      }
      return false;
    };
    let v;
    try {
      v = JSON.parse(text);
    } catch (e) {
      return fail("Not valid JSON: " + e.message + ". Nothing was changed.");
    }
    if (!v || typeof v !== "object" || Array.isArray(v)) {
      return fail("The document must be a JSON object. Nothing was changed.");
    }
    const known = ["scope", "scopeId"].concat(SECTIONS.map((x) => x[0]));
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) {
        return fail('Unknown key "' + k + '" (the document has ' + known.join(", ") + "). Nothing was changed.");
      }
    }
    if (v.scope !== undefined && v.scope !== SCOPE) {
      return fail('scope is "' + v.scope + '" but this page edits the ' + SCOPE + " scope. Nothing was changed.");
    }
    for (const [s] of SECTIONS) {
      const sec = v[s];
      if (sec === undefined || sec === null) {
        continue;
      }
      if (!Array.isArray(sec)) {
        return fail(s + " must be an array or null. Nothing was changed.");
      }
      for (let i = 0; i < sec.length; i++) {
        const e = sec[i];
        if (!e || typeof e !== "object" || Array.isArray(e)) {
          return fail(s + "[" + i + "] must be an object. Nothing was changed.");
        }
        if (!e.base && typeof e.module !== "string") {
          return fail(s + "[" + i + "] needs a module (or base: true). Nothing was changed.");
        }
      }
    }
    v.scope = SCOPE;
    if (SCOPE !== "global") {
      v.scopeId = docID;
    }
    state.draft = draftOf(v);
    closePanel();
    say("JSON applied to the draft (not saved yet).");
    return true;
  }

  function yamlKey(k) {
    return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k) && !/^(true|false|null|yes|no|on|off|y|n|~)$/i.test(k) ? k : JSON.stringify(k);
  }

  function yamlScalar(v) {
    if (v === null) {
      return "null";
    }
    if (typeof v === "string") {
      return JSON.stringify(v);
    }
    return String(v);
  }

  // toYAML renders a JSON value as block YAML (strings always
  // double-quoted: JSON's escapes are valid YAML).
  function toYAML(v, indent) {
    indent = indent || "";
    if (Array.isArray(v)) {
      if (v.length === 0) {
        return "[]";
      }
      return v.map((x) => {
        if (x && typeof x === "object" && Object.keys(x).length > 0) {
          const inner = toYAML(x, indent + "  ");
          return indent + "- " + inner.slice(indent.length + 2);
        }
        return indent + "- " + (x && typeof x === "object" ? (Array.isArray(x) ? "[]" : "{}") : yamlScalar(x));
      }).join("\n");
    }
    if (v && typeof v === "object") {
      const keys = Object.keys(v);
      if (keys.length === 0) {
        return "{}";
      }
      return keys.map((k) => {
        const x = v[k];
        if (x && typeof x === "object" && (Array.isArray(x) ? x.length : Object.keys(x).length)) {
          return indent + yamlKey(k) + ":\n" + toYAML(x, indent + "  ");
        }
        return indent + yamlKey(k) + ": " + (x && typeof x === "object" ? (Array.isArray(x) ? "[]" : "{}") : yamlScalar(x));
      }).join("\n");
    }
    return indent + yamlScalar(v);
  }

  // ---- panels: picker, form, review, conflict ----

  let panelReturn = null;

  function openPanel(title, id) {
    panelReturn = document.activeElement;
    clear(panel);
    panel.hidden = false;
    panel.setAttribute("data-panel", id);
    const h = el("h3", { id: "pe-panel-h", tabindex: "-1", text: title });
    panel.setAttribute("aria-labelledby", "pe-panel-h");
    panel.setAttribute("role", "region");
    panel.appendChild(h);
    return h;
  }

  function closePanel() {
    clear(panel);
    panel.hidden = true;
    panel.removeAttribute("data-panel");
    if (panelReturn && document.body.contains(panelReturn)) {
      panelReturn.focus();
    }
    panelReturn = null;
  }

  panel.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      closePanel();
    }
  });

  function openPicker(section) {
    const h = openPanel("Add a policy to " + sectionLabel(section).toLowerCase(), "picker");
    if (state.modulesError) {
      panel.appendChild(el("p", { class: "pe-err", text: "The module catalog could not be loaded: " + state.modulesError }));
    }
    const fid = nextID("filter");
    const filter = el("input", { id: fid, type: "search", class: "pe-filter", placeholder: "Filter policies", autocomplete: "off" });
    panel.appendChild(el("label", { for: fid, class: "pe-label", text: "Filter" }));
    panel.appendChild(filter);
    const list = el("ul", { class: "pe-picks", id: "pe-picks" });
    panel.appendChild(list);
    const fill = () => {
      clear(list);
      const q = filter.value.trim().toLowerCase();
      let count = 0;
      for (const g of moduleGroups()) {
        const grantedVersions = g.versions.filter(granted);
        const latest = grantedVersions[0] || g.versions[0];
        for (const p of policiesOf(latest)) {
          const text = (g.name + " " + p.name + " " + (p.description || "")).toLowerCase();
          if (q && !text.includes(q)) {
            continue;
          }
          count++;
          const li = el("li", { class: "pe-pick-item" + (grantedVersions.length ? "" : " pe-ungranted") },
            el("div", { class: "pe-pick-text" },
              el("strong", { text: p.name }),
              el("code", { class: "pe-entry-ref", text: g.name + "@" + latest.version }),
              p.description ? el("span", { class: "pe-desc", text: p.description }) : null));
          if (grantedVersions.length) {
            li.appendChild(el("button", {
              type: "button", class: "pe-btn pe-pick", "data-module": g.name, "data-policy": p.isDefault ? "" : p.name, text: "Configure",
              "aria-label": "Configure " + p.name,
              onclick: () => openForm({ section: section, uid: null, module: g.name, policy: p.isDefault ? "" : p.name }),
            }));
          } else {
            const missing = latest.missingGrants.join(", ");
            li.appendChild(el("span", {
              class: "pe-why", "data-module": g.name,
              text: "Not attachable: " + g.name + "@" + latest.version + " is not granted " + missing + ". An owner grants it on the module's page (or: gatehouse plugin grant " + g.name + " " + latest.version + " --all).",
            }));
          }
          list.appendChild(li);
        }
      }
      if (count === 0) {
        list.appendChild(el("li", { class: "pe-empty", text: state.modules.length ? "No policy matches." : "No modules are uploaded." }));
      }
    };
    filter.addEventListener("input", fill);
    fill();
    panel.appendChild(el("div", { class: "pe-panel-actions" }, el("button", { type: "button", class: "pe-btn", id: "pe-cancel", text: "Cancel", onclick: closePanel })));
    filter.focus();
    void h;
  }

  // openForm opens the schema form for a new entry (spec.uid null: module
  // and policy given) or an existing one (spec.uid). Server errors for the
  // entry (spec.errors) are placed at their fields.
  function openForm(spec) {
    let entry;
    if (spec.uid) {
      const at = findItem(spec.uid);
      if (!at) {
        return;
      }
      entry = at.item.e;
      spec.section = at.section;
    } else {
      entry = { module: spec.module, policy: spec.policy || undefined };
    }
    const ref = parseRef(entry.module);
    const g = moduleGroups().find((x) => x.name === ref.name);
    const title = (spec.uid ? (CAN_WRITE ? "Edit " : "") : "Add ") + entryName(entry) + (spec.uid ? "" : " to " + sectionLabel(spec.section).toLowerCase());
    openPanel(title, "form");
    const form = el("form", { class: "pe-form", id: "pe-form", novalidate: true, "data-module": ref.name, "data-policy": entry.policy || "" });
    const fs = el("fieldset", { class: "pe-form-fields", disabled: !CAN_WRITE });
    form.appendChild(fs);
    panel.appendChild(form);

    // Module version: unpinned (the newest granted) or a granted version.
    const vid = nextID("ver");
    const vsel = el("select", { id: vid, class: "pe-version" });
    vsel.appendChild(el("option", { value: "", text: "newest granted (unpinned)" }));
    (g ? g.versions : []).forEach((m) => {
      const o = el("option", { value: m.version, text: m.version + (granted(m) ? "" : " (not granted: " + m.missingGrants.join(", ") + ")") });
      o.disabled = !granted(m) && m.version !== ref.version;
      vsel.appendChild(o);
    });
    vsel.value = ref.version;
    fs.appendChild(el("div", { class: "pe-field pe-meta", "data-path": "module" },
      el("label", { for: vid, text: "Module " + ref.name + " version" }), vsel,
      el("p", { class: "pe-err", hidden: true, role: "alert" })));
    if (!g) {
      fs.appendChild(el("p", { class: "pe-err", text: "Module " + ref.name + " is not uploaded: the entry cannot run until it is." }));
    }

    const schemaBox = el("div", { class: "pe-schema" });
    fs.appendChild(schemaBox);
    let ctrl = null;
    const build = (value) => {
      clear(schemaBox);
      const m = resolveModule(ref.name + (vsel.value ? "@" + vsel.value : ""));
      let sch;
      if (m) {
        const ps = policySchema(m, entry.policy);
        if (!ps.found) {
          schemaBox.appendChild(el("p", { class: "pe-err", text: m.name + "@" + m.version + " provides no policy " + JSON.stringify(entry.policy || m.name) + "." }));
        } else {
          sch = ps.schema;
          if (ps.description) {
            schemaBox.appendChild(el("p", { class: "pe-desc", text: ps.description }));
          }
        }
      }
      if (sch && typeof sch === "object" && (sch.type === "object" || sch.properties)) {
        ctrl = makeField(sch, "", null, true, value, true);
      } else {
        ctrl = makeRaw(sch || {}, "", "Config (JSON)", false, value, sch ? "The policy's schema is not an object; enter its config as JSON." : "No config schema is known for this policy; enter its config as JSON (or leave empty).");
      }
      schemaBox.appendChild(ctrl.node);
    };
    build(entry.config);
    vsel.addEventListener("change", () => {
      const cur = ctrl.get(false);
      build(cur.value);
    });

    // Fail mode.
    const fmid = nextID("ffm");
    const fm = el("select", { id: fmid, class: "pe-form-fm" });
    FAIL_MODES.forEach(([v, label]) => {
      const o = el("option", { value: v, text: label });
      o.selected = (entry.failMode || "") === v || (v === "" && entry.failMode === "closed");
      fm.appendChild(o);
    });
    const fbid = nextID("ffb");
    const fb = el("input", { id: fbid, type: "text", class: "pe-form-fallback", value: entry.fallback || "", placeholder: "module or module@version", spellcheck: "false" });
    const fbWrap = el("div", { class: "pe-field", "data-path": "fallback", hidden: fm.value !== "fallback" },
      el("label", { for: fbid, text: "Fallback module" }), fb, el("p", { class: "pe-err", hidden: true, role: "alert" }));
    fm.addEventListener("change", () => {
      fbWrap.hidden = fm.value !== "fallback";
    });
    fs.appendChild(el("div", { class: "pe-field pe-meta", "data-path": "failMode" },
      el("label", { for: fmid, text: "Fail mode" }), fm, el("p", { class: "pe-err", hidden: true, role: "alert" })));
    fs.appendChild(fbWrap);

    const actions = el("div", { class: "pe-panel-actions" });
    if (CAN_WRITE) {
      actions.appendChild(el("button", { type: "submit", class: "pe-btn pe-primary", id: "pe-apply", text: spec.uid ? "Apply" : "Add" }));
    }
    actions.appendChild(el("button", { type: "button", class: "pe-btn", id: "pe-cancel", text: CAN_WRITE ? "Cancel" : "Close", onclick: closePanel }));
    form.appendChild(actions);

    const metaErr = (path, msg) => {
      const w = form.querySelector('.pe-meta[data-path="' + path + '"] .pe-err, .pe-field[data-path="' + path + '"] > .pe-err');
      if (w) {
        w.textContent = msg;
        w.hidden = false;
      }
    };
    if (spec.errors) {
      for (const x of spec.errors) {
        if (x.sub === null) {
          metaErr(x.field, x.message);
        } else {
          placeError(ctrl, x.sub, x.message);
        }
      }
    }

    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!CAN_WRITE) {
        return;
      }
      form.querySelectorAll(".pe-meta > .pe-err, .pe-field[data-path='fallback'] > .pe-err").forEach((n) => {
        n.hidden = true;
      });
      const r = ctrl.get(true);
      let ok = r.ok;
      if (fm.value === "fallback" && !fb.value.trim()) {
        metaErr("fallback", "required when the fail mode is fallback");
        ok = false;
      }
      if (!ok) {
        say("The form has errors; they are shown at their fields.", "error");
        const first = form.querySelector('[aria-invalid="true"]');
        if (first) {
          first.focus();
        }
        return;
      }
      const ne = { module: ref.name + (vsel.value ? "@" + vsel.value : "") };
      if (entry.policy) {
        ne.policy = entry.policy;
      }
      if (fm.value) {
        ne.failMode = fm.value;
      }
      if (fm.value === "fallback") {
        ne.fallback = fb.value.trim();
      }
      if (r.present) {
        ne.config = r.value;
      }
      let uid;
      if (spec.uid) {
        const at = findItem(spec.uid);
        at.item.e = shapeEntry(ne);
        at.item.errors = [];
        uid = at.item.uid;
      } else {
        let sec = state.draft.sections[spec.section];
        if (sec === null) {
          // As the API's attach does: a section the scope does not have
          // yet starts with base, so adding one entry keeps the parent's.
          sec = state.draft.sections[spec.section] = SCOPE === "global" ? [] : [item({ base: true })];
        }
        const it = item(ne);
        sec.push(it);
        uid = it.uid;
      }
      panelReturn = null;
      closePanel();
      render();
      focusEntry(uid, "");
      const msg = (spec.uid ? "Updated " : "Added ") + entryName(ne) + " in " + sectionLabel(spec.section) + ". Not saved yet: Review and save to apply it.";
      say(msg);
      announce(msg);
    });
    const first = form.querySelector("input, select, textarea");
    if (spec.errors && form.querySelector('[aria-invalid="true"]')) {
      form.querySelector('[aria-invalid="true"]').focus();
    } else if (first) {
      first.focus();
    }
  }

  // ---- the schema form ----
  //
  // Every field is a controller {node, get(check) -> {ok, present, value},
  // find(tokens) -> controller, setError(msg), setPath(path)}. Paths are
  // the admin API's config paths below ".config" (e.g. "calls",
  // "headers[0].name"); each field's wrapper carries it as data-path.

  function schemaType(s) {
    let t = s.type;
    if (Array.isArray(t)) {
      t = t.filter((x) => x !== "null");
      t = t.length === 1 ? t[0] : undefined;
    }
    if (!t) {
      if (s.properties) {
        return "object";
      }
      if (s.items) {
        return "array";
      }
      if (Array.isArray(s.enum)) {
        return "enum";
      }
      return "raw";
    }
    if (Array.isArray(s.enum)) {
      return "enum";
    }
    if ((s.oneOf || s.anyOf || s.$ref) && t !== "object") {
      return "raw";
    }
    if (t === "object" && !s.properties) {
      return "raw";
    }
    return t;
  }

  function childPath(base, key) {
    if (/^\d+$/.test(String(key)) && typeof key === "number") {
      return base + "[" + key + "]";
    }
    if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) {
      return base ? base + "." + key : key;
    }
    return base + "[" + JSON.stringify(key) + "]";
  }

  function labelOf(s, name) {
    return s.title && s.title !== name ? s.title + " (" + name + ")" : name;
  }

  function fieldShell(s, path, label, required, control, id) {
    const wrap = el("div", { class: "pe-field", "data-path": path });
    const descID = id + "-d";
    const errID = id + "-e";
    if (label !== null) {
      wrap.appendChild(el("label", { for: id, class: "pe-label" }, label, required ? el("span", { class: "pe-req", title: "required", text: " *" }) : null));
    }
    wrap.appendChild(control);
    let desc = s.description || "";
    if (s.default !== undefined && typeof s.default !== "object" && s.default !== "") {
      desc += (desc ? " " : "") + "Default: " + JSON.stringify(s.default) + ".";
    }
    if (desc) {
      wrap.appendChild(el("p", { class: "pe-desc", id: descID, text: desc }));
    }
    const err = el("p", { class: "pe-err", id: errID, hidden: true, role: "alert" });
    wrap.appendChild(err);
    control.setAttribute("aria-describedby", (desc ? descID + " " : "") + errID);
    if (required) {
      control.setAttribute("aria-required", "true");
    }
    return {
      wrap: wrap,
      setError: (msg) => {
        err.textContent = msg || "";
        err.hidden = !msg;
        if (msg) {
          control.setAttribute("aria-invalid", "true");
        } else {
          control.removeAttribute("aria-invalid");
        }
      },
    };
  }

  function makeField(s, path, name, required, value, isRoot) {
    s = s && typeof s === "object" ? s : {};
    const t = schemaType(s);
    const label = isRoot ? null : labelOf(s, name === null ? "" : String(name));
    switch (t) {
      case "object":
        return makeObject(s, path, label, required, value, isRoot);
      case "array":
        return makeArray(s, path, label, required, value);
      case "boolean":
        return makeBool(s, path, label, required, value);
      case "enum":
        return makeEnum(s, path, label, required, value);
      case "string":
      case "number":
      case "integer":
        return makeText(s, t, path, label, required, value);
      default:
        return makeRaw(s, path, label, required, value, s.oneOf || s.anyOf ? "This field accepts more than one shape; enter it as JSON." : "Enter this field as JSON.");
    }
  }

  function makeText(s, t, path, label, required, value) {
    const id = nextID("f");
    const inp = el("input", { id: id, type: "text", class: "pe-input", name: path, spellcheck: "false", autocomplete: "off", inputmode: t === "string" ? null : t === "integer" ? "numeric" : "decimal" });
    if (s.default !== undefined && typeof s.default !== "object") {
      inp.placeholder = String(s.default);
    }
    if (value !== undefined && value !== null) {
      inp.value = typeof value === "string" ? value : JSON.stringify(value);
    }
    const sh = fieldShell(s, path, label, required, inp, id);
    const c = {
      node: sh.wrap, setError: sh.setError,
      setPath: (p) => {
        path = p;
        sh.wrap.setAttribute("data-path", p);
        inp.name = p;
      },
      find: (toks) => (toks.length === 0 ? c : null),
      get: (check) => {
        const raw = inp.value;
        if (check) {
          sh.setError("");
        }
        if (raw === "" && !(t === "string" && value === "")) {
          if (required && check) {
            sh.setError("required");
            return { ok: false, present: false };
          }
          return { ok: true, present: false };
        }
        if (t === "string") {
          const n = [...raw].length;
          if (check && s.minLength !== undefined && n < s.minLength) {
            sh.setError("must be at least " + s.minLength + " characters");
            return { ok: false, present: true, value: raw };
          }
          if (check && s.maxLength !== undefined && n > s.maxLength) {
            sh.setError("must be at most " + s.maxLength + " characters");
            return { ok: false, present: true, value: raw };
          }
          return { ok: true, present: true, value: raw };
        }
        const v = raw.trim();
        if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v)) {
          if (check) {
            sh.setError("must be a" + (t === "integer" ? "n integer" : " number"));
          }
          return { ok: !check, present: false };
        }
        const num = Number(v);
        let msg = "";
        if (t === "integer" && !Number.isInteger(num)) {
          msg = "must be an integer";
        } else if (s.minimum !== undefined && num < s.minimum) {
          msg = "must be at least " + s.minimum;
        } else if (s.maximum !== undefined && num > s.maximum) {
          msg = "must be at most " + s.maximum;
        } else if (typeof s.exclusiveMinimum === "number" && num <= s.exclusiveMinimum) {
          msg = "must be more than " + s.exclusiveMinimum;
        } else if (typeof s.exclusiveMaximum === "number" && num >= s.exclusiveMaximum) {
          msg = "must be less than " + s.exclusiveMaximum;
        }
        if (msg && check) {
          sh.setError(msg);
          return { ok: false, present: true, value: num };
        }
        return { ok: true, present: true, value: num };
      },
    };
    return c;
  }

  function makeBool(s, path, label, required, value) {
    const id = nextID("f");
    const inp = el("input", { id: id, type: "checkbox", class: "pe-check", name: path });
    inp.checked = value === true || (value === undefined && s.default === true);
    const sh = fieldShell(s, path, label, required, inp, id);
    sh.wrap.classList.add("pe-field-check");
    const c = {
      node: sh.wrap, setError: sh.setError,
      setPath: (p) => {
        sh.wrap.setAttribute("data-path", p);
        inp.name = p;
      },
      find: (toks) => (toks.length === 0 ? c : null),
      get: (check) => {
        if (check) {
          sh.setError("");
        }
        const v = inp.checked;
        // Left at the default and not set before: omitted, so the
        // policy's default applies.
        const present = required || value !== undefined || v !== (s.default === true);
        return { ok: true, present: present, value: v };
      },
    };
    return c;
  }

  function makeEnum(s, path, label, required, value) {
    const id = nextID("f");
    const sel = el("select", { id: id, class: "pe-select", name: path });
    const vals = s.enum;
    if (!required || value === undefined) {
      sel.appendChild(el("option", { value: "", text: s.default !== undefined ? "(default: " + (typeof s.default === "string" ? s.default : JSON.stringify(s.default)) + ")" : "(not set)" }));
    }
    vals.forEach((v, i) => {
      const o = el("option", { value: String(i), text: typeof v === "string" ? (v === "" ? '""' : v) : JSON.stringify(v) });
      o.selected = value !== undefined && JSON.stringify(v) === JSON.stringify(value);
      sel.appendChild(o);
    });
    const sh = fieldShell(s, path, label, required, sel, id);
    const c = {
      node: sh.wrap, setError: sh.setError,
      setPath: (p) => {
        sh.wrap.setAttribute("data-path", p);
        sel.name = p;
      },
      find: (toks) => (toks.length === 0 ? c : null),
      get: (check) => {
        if (check) {
          sh.setError("");
        }
        if (sel.value === "") {
          if (required && check) {
            sh.setError("required: choose one");
            return { ok: false, present: false };
          }
          return { ok: true, present: false };
        }
        return { ok: true, present: true, value: vals[Number(sel.value)] };
      },
    };
    return c;
  }

  function makeRaw(s, path, label, required, value, hint) {
    const id = nextID("f");
    const ta = el("textarea", { id: id, class: "pe-code pe-raw", rows: "4", spellcheck: "false", name: path });
    if (value !== undefined) {
      ta.value = JSON.stringify(value, null, 2);
    }
    const sh = fieldShell(Object.assign({}, s, { description: [s.description, hint].filter(Boolean).join(" ") }), path, label === null ? "Config (JSON)" : label, required, ta, id);
    sh.wrap.classList.add("pe-field-raw");
    const c = {
      node: sh.wrap, setError: sh.setError,
      setPath: (p) => {
        sh.wrap.setAttribute("data-path", p);
        ta.name = p;
      },
      find: () => c, // errors below a raw field are shown at it
      get: (check) => {
        if (check) {
          sh.setError("");
        }
        const raw = ta.value.trim();
        if (raw === "") {
          if (required && check) {
            sh.setError("required");
            return { ok: false, present: false };
          }
          return { ok: true, present: false };
        }
        try {
          return { ok: true, present: true, value: JSON.parse(raw) };
        } catch (e) {
          if (check) {
            sh.setError("not valid JSON: " + e.message);
          }
          return { ok: !check, present: false };
        }
      },
    };
    return c;
  }

  function makeObject(s, path, label, required, value, isRoot) {
    const fs = el(isRoot ? "div" : "fieldset", { class: isRoot ? "pe-obj pe-root" : "pe-obj", "data-path": path });
    if (!isRoot) {
      fs.appendChild(el("legend", {}, label, required ? el("span", { class: "pe-req", title: "required", text: " *" }) : null));
      if (s.description) {
        fs.appendChild(el("p", { class: "pe-desc", text: s.description }));
      }
    }
    const err = el("p", { class: "pe-err", hidden: true, role: "alert" });
    fs.appendChild(err);
    const obj = value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
    const req = new Set(Array.isArray(s.required) ? s.required : []);
    const props = s.properties || {};
    const kids = new Map();
    for (const k of Object.keys(props)) {
      const c = makeField(props[k], childPath(path, k), k, req.has(k), obj ? obj[k] : undefined, false);
      kids.set(k, c);
      fs.appendChild(c.node);
    }
    // Keys the schema does not list (where it allows them) are kept as
    // they were.
    const extra = {};
    if (obj) {
      for (const k of Object.keys(obj)) {
        if (!kids.has(k)) {
          extra[k] = obj[k];
        }
      }
    }
    if (Object.keys(extra).length) {
      fs.appendChild(el("p", { class: "pe-desc", text: "Also kept unchanged (not in the schema): " + Object.keys(extra).join(", ") + "." }));
    }
    const setError = (msg) => {
      err.textContent = msg || "";
      err.hidden = !msg;
    };
    const c = {
      node: fs, setError: setError,
      setPath: (p) => {
        path = p;
        fs.setAttribute("data-path", p);
        for (const [k, kc] of kids) {
          kc.setPath(childPath(p, k));
        }
      },
      find: (toks) => {
        if (toks.length === 0) {
          return c;
        }
        const kc = kids.get(String(toks[0]));
        return kc ? kc.find(toks.slice(1)) : null;
      },
      // missing places a "missing property" message at each named child.
      kid: (k) => kids.get(k),
      get: (check) => {
        if (check) {
          setError("");
        }
        const out = Object.assign({}, extra);
        let ok = true;
        let any = false;
        for (const [k, kc] of kids) {
          const r = kc.get(check);
          ok = ok && r.ok;
          if (r.present) {
            out[k] = r.value;
            any = true;
          }
        }
        const present = isRoot || required || obj !== undefined || any || Object.keys(extra).length > 0;
        return { ok: ok, present: present, value: out };
      },
    };
    return c;
  }

  function makeArray(s, path, label, required, value) {
    const fs = el("fieldset", { class: "pe-arr", "data-path": path });
    fs.appendChild(el("legend", {}, label, required ? el("span", { class: "pe-req", title: "required", text: " *" }) : null));
    if (s.description) {
      fs.appendChild(el("p", { class: "pe-desc", text: s.description }));
    }
    const err = el("p", { class: "pe-err", hidden: true, role: "alert" });
    fs.appendChild(err);
    const list = el("ol", { class: "pe-items" });
    fs.appendChild(list);
    const itemSchema = s.items && typeof s.items === "object" ? s.items : {};
    const kids = [];
    const relabel = () => {
      kids.forEach((k, i) => {
        k.c.setPath(path + "[" + i + "]");
        k.rm.setAttribute("aria-label", "Remove item " + (i + 1) + " of " + (label || path));
      });
    };
    const addItem = (v, focus) => {
      const i = kids.length;
      const c = makeField(itemSchema, path + "[" + i + "]", "item " + (i + 1), true, v, false);
      const li = el("li", { class: "pe-item" });
      const rm = el("button", { type: "button", class: "pe-btn pe-link pe-rm-item", text: "Remove" });
      const k = { c: c, li: li, rm: rm };
      rm.addEventListener("click", () => {
        const at = kids.indexOf(k);
        kids.splice(at, 1);
        li.remove();
        relabel();
        const next = kids[Math.min(at, kids.length - 1)];
        (next ? next.rm : addBtn).focus();
      });
      li.appendChild(c.node);
      li.appendChild(rm);
      list.appendChild(li);
      kids.push(k);
      relabel();
      if (focus) {
        const f = li.querySelector("input, select, textarea");
        if (f) {
          f.focus();
        }
      }
    };
    const addBtn = el("button", { type: "button", class: "pe-btn pe-add-item", text: "Add item", "aria-label": "Add an item to " + (label || path), onclick: () => addItem(undefined, true) });
    fs.appendChild(addBtn);
    if (Array.isArray(value)) {
      value.forEach((v) => addItem(v, false));
    }
    const setError = (msg) => {
      err.textContent = msg || "";
      err.hidden = !msg;
    };
    const c = {
      node: fs, setError: setError,
      setPath: (p) => {
        path = p;
        fs.setAttribute("data-path", p);
        relabel();
      },
      find: (toks) => {
        if (toks.length === 0) {
          return c;
        }
        const k = kids[Number(toks[0])];
        return typeof toks[0] === "number" && k ? k.c.find(toks.slice(1)) : null;
      },
      get: (check) => {
        if (check) {
          setError("");
        }
        let ok = true;
        const out = [];
        for (const k of kids) {
          const r = k.c.get(check);
          ok = ok && r.ok;
          out.push(r.present ? r.value : null);
        }
        if (check && s.minItems !== undefined && out.length < s.minItems && (out.length > 0 || required)) {
          setError("needs at least " + s.minItems + " item" + (s.minItems === 1 ? "" : "s"));
          ok = false;
        }
        if (check && s.maxItems !== undefined && out.length > s.maxItems) {
          setError("takes at most " + s.maxItems + " items");
          ok = false;
        }
        return { ok: ok, present: required || value !== undefined || out.length > 0, value: out };
      },
    };
    return c;
  }

  // pathTokens splits a config path (".a.b[2]["x y"]", "a.b") into keys
  // (strings) and indexes (numbers).
  function pathTokens(p) {
    const toks = [];
    const re = /\.?([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
    let i = 0;
    while (i < p.length) {
      re.lastIndex = i;
      const m = re.exec(p);
      if (!m) {
        return null;
      }
      if (m[1] !== undefined) {
        toks.push(m[1]);
      } else if (m[2] !== undefined) {
        toks.push(Number(m[2]));
      } else {
        try {
          toks.push(JSON.parse(m[3]));
        } catch (e) {
          return null;
        }
      }
      i = re.lastIndex;
    }
    return toks;
  }

  // placeError shows msg at the field the path names, or the nearest
  // field above it. A "missing property" message at an object goes under
  // each missing field instead.
  function placeError(ctrl, sub, msg) {
    const toks = pathTokens(sub) || [];
    let c = null;
    for (let n = toks.length; n >= 0 && !c; n--) {
      c = ctrl.find(toks.slice(0, n));
      if (c && n < toks.length) {
        msg = "at " + sub.replace(/^\./, "") + ": " + msg;
      }
    }
    c = c || ctrl;
    const miss = /^missing propert(?:y|ies) (.*)$/.exec(msg);
    if (miss && c.kid) {
      const names = (miss[1].match(/'[^']*'/g) || []).map((x) => x.slice(1, -1));
      let placed = 0;
      for (const n of names) {
        const k = c.kid(n);
        if (k) {
          k.setError("required");
          placed++;
        }
      }
      if (placed === names.length && placed > 0) {
        return;
      }
    }
    c.setError(msg);
  }

  // ---- review, diff, save, conflicts ----

  // lineDiff is a longest-common-subsequence line diff: a list of
  // [" "|"-"|"+", line].
  function lineDiff(a, b) {
    const x = a.split("\n");
    const y = b.split("\n");
    const n = x.length;
    const m = y.length;
    if (n * m > 4000000) {
      return x.map((l) => ["-", l]).concat(y.map((l) => ["+", l]));
    }
    const L = [];
    for (let i = 0; i <= n; i++) {
      L.push(new Uint32Array(m + 1));
    }
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
      }
    }
    const out = [];
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) {
        out.push([" ", x[i]]);
        i++;
        j++;
      } else if (L[i + 1][j] >= L[i][j + 1]) {
        out.push(["-", x[i++]]);
      } else {
        out.push(["+", y[j++]]);
      }
    }
    while (i < n) {
      out.push(["-", x[i++]]);
    }
    while (j < m) {
      out.push(["+", y[j++]]);
    }
    return out;
  }

  function renderDiff(a, b, id, labelA, labelB) {
    const d = lineDiff(a, b);
    const pre = el("pre", { class: "pe-code pe-diff", id: id, tabindex: "0", "aria-label": "Line diff: lines starting with - are in " + labelA + " only, + in " + labelB + " only" });
    // Unchanged runs longer than 7 lines are folded to 3 lines of context.
    const changed = d.map((x) => x[0] !== " ");
    const keep = d.map((x, i) => {
      for (let k = Math.max(0, i - 3); k <= Math.min(d.length - 1, i + 3); k++) {
        if (changed[k]) {
          return true;
        }
      }
      return false;
    });
    let folded = 0;
    const flush = () => {
      if (folded) {
        pre.appendChild(el("span", { class: "pe-fold", text: "  … " + folded + " unchanged line" + (folded === 1 ? "" : "s") + "\n" }));
        folded = 0;
      }
    };
    d.forEach((x, i) => {
      if (!keep[i] && d.length > 7) {
        folded++;
        return;
      }
      flush();
      const cls = x[0] === "-" ? "pe-del" : x[0] === "+" ? "pe-ins" : "pe-same";
      pre.appendChild(el("span", { class: cls, text: x[0] + " " + x[1] + "\n" }));
    });
    flush();
    return pre;
  }

  function openReview() {
    if (state.view === "json") {
      const ta = document.getElementById("pe-json");
      if (ta && ta.value !== pretty(docOf(state.draft)) && !applyJSON(ta.value)) {
        return;
      }
      state.view = "entries";
      render();
    }
    const before = pretty(state.loaded);
    const after = pretty(docOf(state.draft));
    openPanel("Review changes to the " + scopeTitle + " policy", "review");
    panel.appendChild(el("p", { class: "pe-desc", text: "Lines marked − are removed, + are added. Saving replaces the stored document; the gateway applies it within moments." }));
    panel.appendChild(el("div", { class: "pe-legend" },
      el("span", { class: "pe-del", text: "− saved now" }), el("span", { class: "pe-ins", text: "+ after saving" })));
    panel.appendChild(renderDiff(before, after, "pe-diff", "the saved document", "your draft"));
    const saveBtn = el("button", { type: "button", class: "pe-btn pe-primary", id: "pe-save", text: "Save", disabled: before === after, onclick: () => save(saveBtn) });
    panel.appendChild(el("div", { class: "pe-panel-actions" }, saveBtn,
      el("button", { type: "button", class: "pe-btn", id: "pe-cancel", text: "Back to editing", onclick: closePanel })));
    saveBtn.focus();
  }

  async function save(btn, retried) {
    btn.disabled = true;
    say("Saving…");
    const doc = docOf(state.draft);
    const headers = {};
    if (state.etag) {
      headers["If-Match"] = state.etag;
    } else {
      // No ETag from the server: compare what is stored now with what
      // was loaded, so another admin's save is not overwritten silently.
      const cur = await api("GET", DOC_PATH);
      const now = cur.status === 404 ? emptyDoc() : cur.ok ? cur.data : null;
      if (!now) {
        say("Could not check the stored document before saving: " + cur.error, "error");
        btn.disabled = false;
        return;
      }
      if (pretty(now) !== pretty(state.loaded)) {
        showConflict(now, cur.etag);
        return;
      }
    }
    const res = await api("PUT", DOC_PATH, doc, headers);
    if (res.ok) {
      state.loaded = res.data;
      state.etag = res.etag;
      state.draft = draftOf(res.data);
      panelReturn = null;
      closePanel();
      render();
      say("Saved. The gateway applies the new policy within moments.", "ok");
      announce("Saved.");
      loadEffective();
      return;
    }
    if (res.status === 412) {
      const cur = await api("GET", DOC_PATH);
      const theirs = cur.status === 404 ? emptyDoc() : cur.data || emptyDoc();
      if (!retried && cur.ok && cur.etag && pretty(theirs) === pretty(state.loaded)) {
        // Only the tag changed (tags are per server process: it
        // restarted); the stored document is the one loaded.
        state.etag = cur.etag;
        return save(btn, true);
      }
      showConflict(theirs, cur.etag);
      return;
    }
    closePanel();
    if (res.status === 400 && res.data && res.data.error) {
      showServerErrors(res.data.error);
      return;
    }
    say("Not saved: " + res.error + (res.status === 403 ? " (your role cannot change policies, or the session's CSRF token is stale: reload the page)" : ""), "error");
  }

  // showServerErrors marks the entries the API's field paths name (e.g.
  // "inbound[2].config.calls") and opens the first one's form with each
  // message at its field.
  function showServerErrors(e) {
    clearErrors();
    const fields = Array.isArray(e.fields) ? e.fields : [];
    let first = null;
    const firstErrs = [];
    const loose = [];
    for (const f of fields) {
      const m = /^(inbound|backend|outbound|onError)\[(\d+)\](.*)$/.exec(f.path || "");
      const sec = m ? state.draft.sections[m[1]] : null;
      const it = sec ? sec[Number(m[2])] : null;
      if (!it) {
        loose.push((f.path ? f.path + ": " : "") + f.message);
        continue;
      }
      const rest = m[3];
      it.errors.push({ path: rest.replace(/^\./, ""), message: f.message });
      if (!first) {
        first = it;
      }
      if (it === first) {
        const cm = /^\.config(.*)$/.exec(rest);
        if (cm) {
          firstErrs.push({ sub: cm[1], message: f.message });
        } else {
          firstErrs.push({ sub: null, field: rest.replace(/^\./, "") || "module", message: f.message });
        }
      }
    }
    render();
    say("Not saved: " + e.message + (loose.length ? " — " + loose.join("; ") : ""), "error");
    if (first && !first.e.base) {
      openForm({ uid: first.uid, errors: firstErrs });
    }
  }

  function showConflict(theirs, etag) {
    openPanel("Someone else changed this policy", "conflict");
    panel.classList.add("pe-conflict");
    panel.appendChild(el("p", { class: "pe-err", id: "pe-conflict-msg", text: "The stored document changed since you loaded it; nothing was saved. Below: what you loaded (−) against what is stored now (+)." }));
    panel.appendChild(renderDiff(pretty(state.loaded), pretty(theirs), "pe-conflict-diff", "what you loaded", "what is stored now"));
    panel.appendChild(el("div", { class: "pe-panel-actions" },
      el("button", {
        type: "button", class: "pe-btn", id: "pe-load-theirs", text: "Discard my changes and load theirs",
        onclick: () => {
          state.loaded = theirs;
          state.etag = etag;
          state.draft = draftOf(theirs);
          panel.classList.remove("pe-conflict");
          panelReturn = null;
          closePanel();
          render();
          say("Loaded the stored document; your changes were discarded.");
        },
      }),
      el("button", {
        type: "button", class: "pe-btn", id: "pe-rebase", text: "Keep my draft and review it against theirs",
        onclick: () => {
          state.loaded = theirs;
          state.etag = etag;
          panel.classList.remove("pe-conflict");
          closePanel();
          render();
          openReview();
        },
      })));
    say("Not saved: someone else changed this policy.", "error");
    const h = document.getElementById("pe-panel-h");
    if (h) {
      h.focus();
    }
  }

  // ---- the effective policy ----

  const SCOPE_NAMES = { global: "global", product: "product", api: "API", operation: "operation" };

  async function loadEffective() {
    if (SCOPE !== "operation") {
      return;
    }
    if (!apiID) {
      effective.hidden = false;
      clear(effective);
      effective.appendChild(el("p", { class: "pe-desc", text: "Open this operation from its API's page to see its effective policy (this page's scope ID names no API)." }));
      return;
    }
    effective.hidden = false;
    let q = "";
    if (state.effectiveProduct) {
      q = "?productId=" + encodeURIComponent(state.effectiveProduct);
    }
    const res = await api("GET", "/apis/" + encodeURIComponent(apiID) + "/operations/" + encodeURIComponent(docID) + "/effective-policy" + q);
    renderEffective(res);
  }

  function renderEffective(res) {
    clear(effective);
    effective.appendChild(el("h3", { id: "pe-eff-h", text: "Effective policy of " + SCOPE_ID }));
    effective.appendChild(el("p", { class: "pe-desc", text: "What the gateway runs for this operation (as saved, not your draft): global, then the product's (pick one: a call runs with the product of its subscription), the API's and the operation's entries, merged where each base sits." }));
    const pid = nextID("prod");
    const sel = el("select", { id: pid, class: "pe-eff-product" });
    sel.appendChild(el("option", { value: "", text: "(no product)" }));
    for (const p of state.products) {
      const o = el("option", { value: p.id, text: p.name ? p.name + " (" + p.id + ")" : p.id });
      o.selected = p.id === state.effectiveProduct;
      sel.appendChild(o);
    }
    sel.addEventListener("change", () => {
      state.effectiveProduct = sel.value;
      loadEffective().then(() => {
        const s2 = effective.querySelector(".pe-eff-product");
        if (s2) {
          s2.focus();
        }
      });
    });
    effective.appendChild(el("div", { class: "pe-field" }, el("label", { for: pid, text: "Product" }), sel));
    const legend = el("ul", { class: "pe-scope-legend", "aria-label": "Colours by scope" });
    for (const s of SCOPES) {
      legend.appendChild(el("li", { class: "pe-scope-" + s }, el("span", { class: "pe-swatch", "aria-hidden": "true" }), SCOPE_NAMES[s]));
    }
    effective.appendChild(legend);
    if (!res.ok) {
      effective.appendChild(el("p", { class: "pe-err", id: "pe-eff-err", text: "The effective policy could not be loaded: " + res.error }));
      return;
    }
    const grid = el("div", { class: "pe-eff-grid" });
    for (const [s, label] of SECTIONS) {
      const col = el("div", { class: "pe-eff-col", "data-section": s }, el("h4", { text: label }));
      const list = el("ol", { class: "pe-eff-list" });
      const es = res.data[s] || [];
      es.forEach((e) => {
        const from = SCOPE_NAMES[e.scope] + (e.scopeId ? " " + e.scopeId : "");
        list.appendChild(el("li", { class: "pe-eff pe-scope-" + e.scope, "data-scope": e.scope },
          el("strong", { text: entryName(e) }),
          el("span", { class: "pe-from", text: "from " + from }),
          el("code", { class: "pe-entry-ref", text: e.module + (e.failMode && e.failMode !== "closed" ? " · fail " + e.failMode : "") }),
          el("span", { class: "pe-entry-sum", text: summary(e.config) })));
      });
      if (es.length === 0) {
        list.appendChild(el("li", { class: "pe-empty", text: "Nothing runs here." }));
      }
      col.appendChild(list);
      grid.appendChild(col);
    }
    effective.appendChild(grid);
  }

  // ---- start ----

  window.addEventListener("beforeunload", (ev) => {
    if (CAN_WRITE && dirty()) {
      ev.preventDefault();
      ev.returnValue = "";
    }
  });

  async function start() {
    say("Loading…");
    const [doc, mods, prods] = await Promise.all([
      api("GET", DOC_PATH),
      api("GET", "/modules"),
      SCOPE === "operation" && apiID ? api("GET", "/products") : Promise.resolve({ ok: true, data: { items: [] } }),
    ]);
    if (doc.status === 404) {
      state.loaded = emptyDoc();
      state.etag = null;
    } else if (doc.ok) {
      state.loaded = doc.data;
      state.etag = doc.etag;
    } else {
      say("The policy could not be loaded: " + doc.error, "error");
      return;
    }
    if (mods.ok) {
      state.modules = (mods.data && mods.data.items) || [];
    } else {
      state.modulesError = mods.error;
    }
    if (prods.ok) {
      state.products = (prods.data && prods.data.items) || [];
    }
    state.draft = draftOf(state.loaded);
    say(doc.status === 404 ? "This scope has no policy document yet." : "");
    render();
    root.setAttribute("data-ready", "true");
    loadEffective();
  }

  start();
})();
