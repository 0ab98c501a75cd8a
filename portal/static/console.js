// Gatehouse developer portal: the interactive console. It posts the
// operation's inputs to the portal's relay (POST /console/api/send), which
// adds the chosen subscription's key and calls the gateway; the key never
// reaches this page.
"use strict";
(function () {
  const form = document.getElementById("console-form");
  if (!form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  let samples = {};

  function pretty(body, headers) {
    const ct = ((headers && (headers["Content-Type"] || headers["content-type"])) || [""])[0].toLowerCase();
    if (ct.includes("json") || /^\s*[\[{]/.test(body)) {
      try { return JSON.stringify(JSON.parse(body), null, 2); } catch (e) { /* not JSON after all */ }
    }
    if (ct.includes("xml") || /^\s*<\?xml|^\s*<[A-Za-z]/.test(body)) return prettyXML(body);
    return body;
  }
  function prettyXML(xml) {
    const doc = new DOMParser().parseFromString(xml, "application/xml");
    if (doc.getElementsByTagName("parsererror").length) return xml;
    const out = [];
    (function walk(n, depth) {
      const pad = "  ".repeat(depth);
      if (n.nodeType === Node.TEXT_NODE) {
        const t = n.nodeValue.trim();
        if (t) out.push(pad + t);
        return;
      }
      if (n.nodeType !== Node.ELEMENT_NODE) return;
      const attrs = Array.from(n.attributes).map((a) => " " + a.name + '="' + a.value + '"').join("");
      if (!n.childNodes.length) { out.push(pad + "<" + n.nodeName + attrs + "/>"); return; }
      if (n.childNodes.length === 1 && n.firstChild.nodeType === Node.TEXT_NODE) {
        out.push(pad + "<" + n.nodeName + attrs + ">" + n.firstChild.nodeValue.trim() + "</" + n.nodeName + ">");
        return;
      }
      out.push(pad + "<" + n.nodeName + attrs + ">");
      n.childNodes.forEach((c) => walk(c, depth + 1));
      out.push(pad + "</" + n.nodeName + ">");
    })(doc.documentElement, 0);
    return out.join("\n");
  }
  function decodeBody(res) {
    if (res.bodyEncoding === "base64") {
      try { return atob(res.body || ""); } catch (e) { return "(binary body, " + res.sizeBytes + " bytes)"; }
    }
    return res.body || "";
  }
  // The trace (host/gateway trace.go): stages in order, each with the
  // policies that ran in it, its decision and time, and the headers and
  // variables it changed (secret values already redacted); then the
  // backend call.
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function renderTrace(trace) {
    const box = $("trace-box"), list = $("trace-list"), raw = $("trace-raw");
    list.textContent = "";
    if (!trace) { box.hidden = true; return; }
    box.hidden = false;
    (trace.stages || []).forEach((s) => {
      const li = el("li", "stage");
      const head = el("div", "stage-head");
      head.appendChild(el("strong", null, [s.section, s.phase].filter(Boolean).join(" / ")));
      const dec = el("span", "decision decision-" + String(s.decision || "").toLowerCase(),
        " " + [s.decision + (s.status ? " " + s.status : ""), s.reason].filter(Boolean).join(": "));
      head.appendChild(dec);
      head.appendChild(el("span", "meta", " " + Number(s.timeMs || 0).toFixed(3) + " ms"));
      li.appendChild(head);
      const pols = el("ul", "policies");
      (s.policies || []).forEach((p) => {
        pols.appendChild(el("li", "policy", p.scope + " · " + p.module + (p.version ? "@" + p.version : "") + " · " + p.policy));
      });
      li.appendChild(pols);
      const changes = [];
      (s.headers || []).forEach((h) => changes.push("header " + h.name + " " + h.action + (h.value != null && h.value !== "" ? " = " + h.value : "")));
      (s.variables || []).forEach((v) => changes.push("variable " + v.name + " " + v.action + (v.value != null && v.value !== "" ? " = " + v.value : "")));
      if (s.body) changes.push("body " + s.body);
      if (changes.length) li.appendChild(el("pre", "changes", changes.join("\n")));
      list.appendChild(li);
    });
    const b = trace.backend;
    if (b) {
      const li = el("li", "stage backend");
      li.appendChild(el("strong", null, "backend "));
      li.appendChild(el("code", null, b.urlPath || ""));
      li.appendChild(el("span", b.error ? "decision decision-failed" : "decision decision-continue", " " + (b.error || b.status)));
      li.appendChild(el("span", "meta", " " + Number(b.timeMs || 0).toFixed(3) + " ms"));
      list.appendChild(li);
    }
    const notes = [];
    if (trace.failure) notes.push("failure: " + trace.failure);
    if (trace.truncated) notes.push("(trace truncated)");
    if (trace.totalMs != null) notes.push("total " + Number(trace.totalMs).toFixed(2) + " ms in the gateway");
    raw.hidden = !notes.length;
    raw.textContent = notes.join("\n");
  }
  function renderSamples(s) {
    samples = s || {};
    const tabs = $("sample-tabs");
    tabs.textContent = "";
    const names = { curl: "curl", fetch: "JavaScript fetch", python: "Python requests", go: "Go net/http" };
    Object.keys(names).filter((k) => samples[k]).forEach((k, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = names[k];
      b.dataset.sample = k;
      b.addEventListener("click", () => show(k));
      tabs.appendChild(b);
      if (i === 0) show(k);
    });
    function show(k) {
      tabs.querySelectorAll("button").forEach((b) => b.classList.toggle("active", b.dataset.sample === k));
      $("sample").textContent = samples[k];
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const req = { subscriptionId: $("subscription").value, operationId: form.dataset.operation,
      pathParams: {}, query: {}, headers: {}, body: "", trace: $("trace").checked };
    form.querySelectorAll("input.param").forEach((i) => {
      if (i.value === "" && i.dataset.in !== "path") return;
      const target = { path: req.pathParams, query: req.query, header: req.headers }[i.dataset.in];
      if (target) target[i.dataset.name] = i.value;
    });
    $("extra-headers").value.split("\n").forEach((line) => {
      const at = line.indexOf(":");
      if (at > 0) req.headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    });
    const body = $("body");
    if (body) {
      req.body = body.value;
      if (body.dataset.type && !Object.keys(req.headers).some((h) => h.toLowerCase() === "content-type")) {
        req.headers["Content-Type"] = body.dataset.type;
      }
    }
    const send = $("send");
    send.disabled = true;
    send.textContent = "Sending…";
    $("result").hidden = false;
    $("res-error").hidden = true;
    try {
      const res = await fetch("/console/api/send", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(req),
      });
      const out = await res.json();
      if (!res.ok) throw new Error(out.error || res.statusText);
      $("res-status").textContent = out.status;
      $("res-status").dataset.status = out.status;
      $("res-meta").textContent = out.sizeBytes + " bytes · " + Number(out.timeMs).toFixed(1) + " ms";
      $("res-headers").textContent = Object.keys(out.headers || {}).sort()
        .map((k) => k + ": " + out.headers[k].join(", ")).join("\n");
      $("res-body").textContent = pretty(decodeBody(out), out.headers);
      renderTrace(out.trace);
      renderSamples(out.samples);
    } catch (e) {
      $("res-status").textContent = "";
      $("res-error").hidden = false;
      $("res-error").textContent = e.message;
    } finally {
      send.disabled = false;
      send.textContent = "Send";
    }
  });
})();
