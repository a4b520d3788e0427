// hookspool management UI: plain JavaScript, no build step, no dependencies.
// Every piece of data is put into the page with textContent, never as HTML.
"use strict";

(function () {
  const CONFIG = Object.assign({ apiBase: "/api", oauth2: {}, allowHttpEndpoints: null },
                               window.HOOKSPOOL_CONFIG || {});
  const OAUTH = Object.assign({ authorizeUrl: "", clientId: "", audience: "", scopes: "",
                                redirectUri: "", tenantClaim: "" }, CONFIG.oauth2 || {});
  const API_BASE = String(CONFIG.apiBase || "/api").replace(/\/+$/, "");

  // sessionStorage only: credentials end with the tab.
  const KEY = {
    apiKey: "hookspool.apiKey", token: "hookspool.token", tokenExpires: "hookspool.tokenExpires",
    tenant: "hookspool.tenant", state: "hookspool.oauthState", pendingTenant: "hookspool.oauthTenant",
  };
  const store = {
    get: (k) => { try { return sessionStorage.getItem(k); } catch (e) { return null; } },
    set: (k, v) => { try { sessionStorage.setItem(k, v); } catch (e) { /* private mode */ } },
    del: (k) => { try { sessionStorage.removeItem(k); } catch (e) { /* ignore */ } },
  };

  const $ = (id) => document.getElementById(id);
  const el = (tag, props, children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v === true) node.setAttribute(k, "");
      else if (v !== false && v != null) node.setAttribute(k, String(v));
    }
    for (const c of children || []) if (c) node.append(c);
    return node;
  };

  // ---------------------------------------------------------------- validation
  // The same rules and messages as src/domain/webhook_input.c and endpoint.c.
  // One rule is left to the server: a host that is a literal private, loopback
  // or link-local address (or localhost), which depends on the server's
  // allow_private_targets setting and on legacy address forms only the server
  // parses the way it connects.
  const TENANT_RE = /^[A-Za-z0-9_-]{1,64}$/;
  const PATTERN_RE = /^[A-Za-z0-9._:*-]{1,128}$/;
  const HOST_RE = /^[A-Za-z0-9._-]*$/;

  function utf8Length(s) { return new TextEncoder().encode(s).length; }

  function validateDescription(s) {
    return [...s].length > 1024 ? "The description must be at most 1024 characters." : null;
  }

  function parseEvents(text) {
    return text.split(/[\n,]/).map((s) => s.trim()).filter((s) => s !== "");
  }

  function validateEvents(events) {
    if (events.length === 0) return ["At least one event pattern is required."];
    if (events.length > 50) return ["At most 50 event patterns are allowed."];
    const errs = [];
    events.forEach((e, i) => {
      if (!PATTERN_RE.test(e))
        errs.push("Event pattern " + i + " must be 1 to 128 characters of A-Z, a-z, 0-9, '.', " +
                  "'_', ':', '*' and '-'.");
    });
    return errs;
  }

  // allowHttpEndpoints in config.js: true or false when the deployer says which
  // schemes the server accepts (its allow_http_endpoints setting); null (the
  // default) leaves the scheme to the server, whose 400 answer is then shown next
  // to the field, so the page never refuses an http:// endpoint the server takes.
  function validateEndpoint(url) {
    const allowHttp = CONFIG.allowHttpEndpoints == null ? null : !!CONFIG.allowHttpEndpoints;
    if (url.length === 0) return "The endpoint field is required.";
    if (utf8Length(url) > 2048) return "The endpoint must be at most 2048 characters.";
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0020\u007f]/.test(url))
      return "The endpoint must not contain spaces or control characters.";
    let rest;
    if (/^https:\/\//i.test(url)) rest = url.slice(8);
    else if (/^http:\/\//i.test(url)) {
      if (allowHttp === false) return "The endpoint must be an https:// URL.";
      rest = url.slice(7);
    } else if (allowHttp === null) {
      return null;                        // the server says which schemes it takes
    } else {
      return allowHttp ? "The endpoint must be an absolute http:// or https:// URL."
                       : "The endpoint must be an absolute https:// URL.";
    }
    if (url.includes("#")) return "The endpoint must not contain a fragment.";
    let auth = rest.slice(0, rest.search(/[/?]|$/));
    const at = auth.lastIndexOf("@");
    if (at >= 0) auth = auth.slice(at + 1);
    if (auth.length === 0) return "The endpoint must have a host.";
    let host = auth, port = null;
    if (auth[0] === "[") {
      const close = auth.indexOf("]");
      if (close < 0) return "The endpoint has an unterminated IPv6 address.";
      host = auth.slice(0, close + 1);
      if (close + 1 < auth.length) {
        if (auth[close + 1] !== ":") return "The endpoint's host is not valid.";
        port = auth.slice(close + 2);
      }
      if (!/^\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]$/.test(host)) return "The endpoint's host is not valid.";
    } else {
      const colon = auth.indexOf(":");
      if (colon >= 0) { host = auth.slice(0, colon); port = auth.slice(colon + 1); }
      if (!HOST_RE.test(host)) return "The endpoint's host is not valid.";
    }
    if (host.length === 0) return "The endpoint must have a host.";
    if (port !== null) {
      if (!/^[0-9]{1,5}$/.test(port) || +port < 1 || +port > 65535)
        return "The endpoint's port is not valid.";
    }
    return null;
  }

  // ---------------------------------------------------------------- session
  function credentials() {
    const key = store.get(KEY.apiKey);
    if (key) return { kind: "apikey", value: key };
    const token = store.get(KEY.token);
    if (token) {
      const exp = Number(store.get(KEY.tokenExpires) || 0);
      if (exp && Date.now() >= exp) {
        clearCredentials();
        showAlert("Your sign-in has expired. Sign in again.", true);
        return null;
      }
      return { kind: "token", value: token };
    }
    return null;
  }

  function clearCredentials() {
    store.del(KEY.apiKey);
    store.del(KEY.token);
    store.del(KEY.tokenExpires);
  }

  function tenant() { return store.get(KEY.tenant) || ""; }

  // Tenants named in the token (unverified: only to suggest values; the API decides).
  function tokenTenants(token) {
    try {
      const part = token.split(".")[1];
      if (!part || !OAUTH.tenantClaim) return [];
      const bin = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
      const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
      const v = claims[OAUTH.tenantClaim];
      const list = Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
      return list.filter((t) => typeof t === "string" && TENANT_RE.test(t));
    } catch (e) {
      return [];
    }
  }

  function randomState() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function redirectUri() {
    return OAUTH.redirectUri || (location.origin + location.pathname);
  }

  function startOAuth(tenantId) {
    const state = randomState();
    store.set(KEY.state, state);
    store.set(KEY.pendingTenant, tenantId || "");
    const params = new URLSearchParams({ response_type: "token", client_id: OAUTH.clientId,
                                         redirect_uri: redirectUri(), scope: OAUTH.scopes, state });
    if (OAUTH.audience) params.set("audience", OAUTH.audience);
    const sep = OAUTH.authorizeUrl.includes("?") ? "&" : "?";
    location.assign(OAUTH.authorizeUrl + sep + params.toString());
  }

  // Takes the token from the fragment the provider sent us back with, checks
  // the state, and removes the fragment from the address bar (and history).
  function finishOAuth() {
    const hash = location.hash.replace(/^#/, "");
    if (!hash) return;
    const p = new URLSearchParams(hash);
    if (!p.has("access_token") && !p.has("error") && !p.has("state")) return;
    history.replaceState(null, "", location.pathname + location.search);
    const expected = store.get(KEY.state);
    store.del(KEY.state);
    const pendingTenant = store.get(KEY.pendingTenant) || "";
    store.del(KEY.pendingTenant);
    if (!expected || p.get("state") !== expected) {
      showAlert("The sign-in answer did not match a sign-in started from this page, so it was ignored. Sign in again.", false);
      return;
    }
    if (p.has("error")) {
      showAlert("Sign-in failed: " + (p.get("error_description") || p.get("error")), false);
      return;
    }
    const token = p.get("access_token");
    if (!token) {
      showAlert("The sign-in answer carried no access token.", false);
      return;
    }
    clearCredentials();
    store.set(KEY.token, token);
    const expiresIn = Number(p.get("expires_in"));
    if (expiresIn > 0) store.set(KEY.tokenExpires, String(Date.now() + expiresIn * 1000));
    const suggested = tokenTenants(token);
    const t = pendingTenant || (suggested.length === 1 ? suggested[0] : "");
    if (t) store.set(KEY.tenant, t);
  }

  // ---------------------------------------------------------------- API calls
  function apiUrl(path) { return API_BASE + path; }

  function tenantPath(id) {
    const base = "/" + encodeURIComponent(tenant()) + "/webhooks";
    return id ? base + "/" + encodeURIComponent(id) : base;
  }

  // Returns { status, data, problem } or throws on network failure.
  async function api(method, path, body, contentType) {
    const cred = credentials();
    if (!cred) {
      showSignin();
      throw new Error("not signed in");
    }
    const headers = { Accept: "application/json, application/problem+json" };
    if (cred.kind === "apikey") headers["X-API-KEY"] = cred.value;
    else headers.Authorization = "Bearer " + cred.value;
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = contentType || "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(apiUrl(path), init);
    } catch (e) {
      const err = new Error("The API could not be reached (" + e.message + ").");
      err.network = true;
      throw err;
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    const ct = (res.headers.get("Content-Type") || "").toLowerCase();
    const problem = res.ok ? null : (ct.startsWith("application/problem+json") && data) ||
      { status: res.status, title: res.statusText || "Error", detail: "The server answered " + res.status + "." };
    return { status: res.status, data: res.ok ? data : null, problem, headers: res.headers };
  }

  // 401 and 403 are about the sign-in, wherever they happen.
  function handleAuthProblem(r) {
    if (r.status === 401) {
      clearCredentials();
      showAlert("Your sign-in was refused (401 Unauthorized): " +
                (r.problem.detail || r.problem.title) + " Sign in again.", false);
      showSignin();
      return true;
    }
    if (r.status === 403) {
      showAlert("Not allowed (403 Forbidden): " + (r.problem.detail || r.problem.title) +
                " Check the tenant, or sign in again with credentials that grant it.", true);
      return true;
    }
    return false;
  }

  function problemText(p) {
    const parts = [];
    if (p.title && !(p.status === 400 && p.errors)) parts.push(p.title + (p.detail ? ":" : "."));
    if (p.detail) parts.push(p.detail);
    if (p.status === 503) parts.push("Try again in a moment.");
    return parts.join(" ") || "The request failed (" + p.status + ").";
  }

  // ---------------------------------------------------------------- page state
  let webhooks = [];
  let listLoaded = false;   // false after a failed load: "no webhooks" would be a lie
  const revealed = new Set();

  function notice(text) {
    const n = $("notice");
    n.textContent = "";
    // A fresh text node makes screen readers announce repeats too.
    window.setTimeout(() => { n.textContent = text; }, 30);
  }

  function showAlert(text, offerSignin) {
    $("alert-text").textContent = text;
    $("alert-signin").hidden = !offerSignin;
    $("alert").hidden = false;
    $("notice").textContent = "";
  }

  function hideAlert() { $("alert").hidden = true; }

  function showSignin() {
    $("hooks").hidden = true;
    $("session").hidden = true;
    $("signin").hidden = false;
    $("signin-oauth").hidden = !OAUTH.authorizeUrl;
    $("signin-tenant").value = tenant();
    $("signin-key").value = "";
  }

  function showHooks() {
    const cred = credentials();
    $("signin").hidden = true;
    $("hooks").hidden = false;
    $("session").hidden = false;
    $("session-who").textContent = cred && cred.kind === "token" ? "Signed in (OAuth2)" : "Signed in with an API key";
    $("hooks-title").textContent = "Webhooks of ";
    $("hooks-title").append(el("span", { id: "tenant-name", text: tenant() }));
    $("tenant").value = tenant();
    const list = $("tenant-options");
    list.textContent = "";
    const names = new Set([tenant()].concat(cred && cred.kind === "token" ? tokenTenants(cred.value) : []));
    for (const t of names) if (t) list.append(el("option", { value: t }));
  }

  async function loadHooks() {
    let r;
    try {
      r = await api("GET", tenantPath());
    } catch (e) {
      if (e.network) showAlert(e.message, false);
      return;
    }
    if (handleAuthProblem(r)) { webhooks = []; listLoaded = false; render(); return; }
    if (r.status !== 200 || !Array.isArray(r.data)) {
      showAlert(r.status === 404 ? "No such tenant path: check the tenant name." : problemText(r.problem), false);
      webhooks = [];
      listLoaded = false;
      render();
      return;
    }
    hideAlert();
    listLoaded = true;
    webhooks = r.data;
    render();
  }

  function render() {
    const tbody = $("hook-rows");
    tbody.textContent = "";
    $("empty").hidden = !listLoaded || webhooks.length !== 0;
    $("hook-table").hidden = webhooks.length === 0;
    for (const w of webhooks) tbody.append(row(w));
  }

  function row(w) {
    const desc = w.description == null || w.description === "" ? null : w.description;
    const events = el("ul", { class: "events" }, w.events.map((e) => el("li", { text: e })));
    const toggleId = "enabled-" + w.id;
    const toggle = el("input", { type: "checkbox", id: toggleId, class: "switch",
                                 "aria-label": "Enabled: " + label(w) });
    toggle.checked = !!w.enabled;
    toggle.addEventListener("change", () => setEnabled(w, toggle));

    const secretId = "secret-" + w.id;
    const isShown = revealed.has(w.id);
    const secret = isShown
      ? el("code", { id: secretId, class: "secret", text: w.signatureSecret })
      : el("code", { id: secretId, class: "secret masked" }, [
          el("span", { "aria-hidden": "true", text: "••••••••••••" }),
          el("span", { class: "visually-hidden", text: "Secret hidden" })]);
    const reveal = el("button", { type: "button", class: "secondary small", "aria-controls": secretId,
                                  "aria-expanded": isShown ? "true" : "false",
                                  text: isShown ? "Hide" : "Reveal",
                                  "aria-label": (isShown ? "Hide" : "Reveal") + " secret of " + label(w) });
    reveal.addEventListener("click", () => {
      if (revealed.has(w.id)) revealed.delete(w.id); else revealed.add(w.id);
      render();
      const again = document.querySelector('[aria-controls="' + secretId + '"]');
      if (again) again.focus();
    });
    const copy = el("button", { type: "button", class: "secondary small", text: "Copy",
                                "aria-label": "Copy secret of " + label(w) });
    copy.addEventListener("click", () => copySecret(w));

    const edit = el("button", { type: "button", class: "secondary small", text: "Edit",
                                "aria-label": "Edit " + label(w) });
    edit.addEventListener("click", () => openEditor(w));
    const del = el("button", { type: "button", class: "danger small", text: "Delete",
                               "aria-label": "Delete " + label(w) });
    del.addEventListener("click", () => openDelete(w));

    const tr = el("tr", { "data-id": w.id }, [
      el("td", { "data-label": "Description" }, [
        el("span", { id: "desc-" + w.id, class: desc ? "desc" : "desc none", text: desc || "(no description)" }),
        el("span", { class: "id", text: "id " + w.id }),
      ]),
      el("td", { "data-label": "Endpoint" }, [el("span", { class: "endpoint", text: w.endpoint })]),
      el("td", { "data-label": "Events" }, [events]),
      el("td", { "data-label": "Enabled" }, [
        el("span", { class: "toggle" }, [toggle, el("label", { for: toggleId, text: w.enabled ? "Enabled" : "Disabled" })]),
      ]),
      el("td", { "data-label": "Secret" }, [el("span", { class: "secret-box" }, [secret, reveal, copy])]),
      el("td", { "data-label": "Actions" }, [el("span", { class: "row-actions" }, [edit, del])]),
    ]);
    if (!w.enabled) tr.classList.add("disabled");
    return tr;
  }

  function label(w) {
    return (w.description ? w.description + " " : "") + "(" + w.id + ")";
  }

  async function copySecret(w) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(w.signatureSecret);
      } else {
        const ta = el("textarea", { class: "visually-hidden", readonly: true });
        ta.value = w.signatureSecret;
        document.body.append(ta);
        ta.select();
        const ok = document.execCommand("copy");
        ta.remove();
        if (!ok) throw new Error("copy refused");
      }
      notice("Secret of " + label(w) + " copied to the clipboard.");
    } catch (e) {
      revealed.add(w.id);
      render();
      notice("Could not copy; the secret is shown so you can copy it by hand.");
    }
  }

  async function setEnabled(w, toggle) {
    const want = toggle.checked;
    toggle.disabled = true;
    let r;
    try {
      r = await api("PATCH", tenantPath(w.id), { enabled: want }, "application/merge-patch+json");
    } catch (e) {
      toggle.checked = !want;
      toggle.disabled = false;
      if (e.network) showAlert(e.message, false);
      return;
    }
    if (r.status === 200 && r.data) {
      Object.assign(w, r.data);
      render();
      notice(label(w) + (w.enabled ? " enabled." : " disabled."));
      return;
    }
    toggle.checked = !want;
    toggle.disabled = false;
    if (!handleAuthProblem(r)) {
      showAlert(problemText(r.problem), false);
      if (r.status === 404) loadHooks();
    }
  }

  // ---------------------------------------------------------------- editor
  let editing = null;      // the webhook being edited, or null for a new one
  const FIELDS = ["description", "endpoint", "events", "enabled"];

  function clearErrors() {
    for (const f of FIELDS) setFieldError(f, []);
    const fe = $("form-error");
    fe.textContent = "";
    fe.hidden = true;
  }

  function setFieldError(field, messages) {
    const input = $("f-" + field);
    const slot = $("f-" + field + "-error");
    slot.textContent = "";
    for (const m of messages) slot.append(el("span", { text: m }));
    if (messages.length) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  function setFormError(messages) {
    const fe = $("form-error");
    fe.textContent = "";
    for (const m of messages) fe.append(el("p", { text: m }));
    fe.hidden = messages.length === 0;
  }

  function focusFirstError() {
    for (const f of FIELDS) {
      if ($("f-" + f).getAttribute("aria-invalid") === "true") { $("f-" + f).focus(); return; }
    }
    if (!$("form-error").hidden) $("form-error").focus();
  }

  function openEditor(w) {
    editing = w || null;
    clearErrors();
    $("edit-title").textContent = w ? "Edit webhook " + w.id : "New webhook";
    $("edit-save").textContent = w ? "Save" : "Create";
    $("f-description").value = w && w.description ? w.description : "";
    $("f-endpoint").value = w ? w.endpoint : "";
    $("f-events").value = w ? w.events.join("\n") : "";
    $("f-enabled").checked = w ? !!w.enabled : true;
    $("edit-save").disabled = false;
    $("edit-dialog").showModal();
    (w ? $("f-description") : $("f-endpoint")).focus();
  }

  function readForm() {
    const description = $("f-description").value;
    return {
      description: description.trim() === "" ? null : description,
      events: parseEvents($("f-events").value),
      endpoint: $("f-endpoint").value.trim(),
      enabled: $("f-enabled").checked,
    };
  }

  function validateForm(body) {
    const errors = {};
    const d = body.description == null ? null : validateDescription(body.description);
    if (d) errors.description = [d];
    const ev = validateEvents(body.events);
    if (ev.length) errors.events = ev;
    const ep = validateEndpoint(body.endpoint);
    if (ep) errors.endpoint = [ep];
    return errors;
  }

  function showErrors(errors, detail) {
    const formLevel = [];
    for (const [member, messages] of Object.entries(errors || {})) {
      const list = Array.isArray(messages) ? messages.map(String) : [String(messages)];
      if (FIELDS.includes(member)) setFieldError(member, list);
      else formLevel.push(...list);
    }
    if (detail) formLevel.unshift(detail);
    setFormError(formLevel);
    focusFirstError();
  }

  async function saveEditor(ev) {
    ev.preventDefault();
    clearErrors();
    const body = readForm();
    const errors = validateForm(body);
    if (Object.keys(errors).length) {
      showErrors(errors);
      return;
    }
    $("edit-save").disabled = true;
    let r;
    try {
      r = editing ? await api("PUT", tenantPath(editing.id), body)
                  : await api("POST", tenantPath(), body);
    } catch (e) {
      $("edit-save").disabled = false;
      if (e.network) setFormError([e.message]);
      return;
    }
    $("edit-save").disabled = false;
    if (r.status === 200) {
      const id = editing ? editing.id : r.data && r.data.id;
      $("edit-dialog").close();
      notice(editing ? "Webhook " + id + " saved." : "Webhook " + id + " created.");
      await loadHooks();
      const rowEl = document.querySelector('tr[data-id="' + (window.CSS && CSS.escape ? CSS.escape(id) : id) + '"]');
      if (rowEl) rowEl.querySelector("button").focus();
      return;
    }
    if (r.status === 401 || r.status === 403) {
      $("edit-dialog").close();
      handleAuthProblem(r);
      return;
    }
    const p = r.problem;
    if (p.errors) showErrors(p.errors, p.detail);
    else showErrors({}, problemText(p));
  }

  // ---------------------------------------------------------------- delete
  let deleting = null;

  function openDelete(w) {
    deleting = w;
    $("delete-text").textContent = "Delete " + label(w) + ", which sends to " + w.endpoint +
      "? No further events will be delivered to it. This cannot be undone.";
    $("delete-error").hidden = true;
    $("delete-dialog").showModal();
    $("delete-cancel").focus();
  }

  async function confirmDelete(ev) {
    ev.preventDefault();
    const w = deleting;
    if (!w) return;
    let r;
    try {
      r = await api("DELETE", tenantPath(w.id));
    } catch (e) {
      if (e.network) { $("delete-error").textContent = e.message; $("delete-error").hidden = false; }
      return;
    }
    if (r.status === 200 || r.status === 404) {
      $("delete-dialog").close();
      revealed.delete(w.id);
      notice("Webhook " + label(w) + " deleted.");
      await loadHooks();
      $("new-hook").focus();
      return;
    }
    if (r.status === 401 || r.status === 403) {
      $("delete-dialog").close();
      handleAuthProblem(r);
      return;
    }
    $("delete-error").textContent = problemText(r.problem);
    $("delete-error").hidden = false;
  }

  // ---------------------------------------------------------------- wiring
  function checkTenant(value, errorSlot) {
    const ok = TENANT_RE.test(value);
    $(errorSlot).textContent = ok ? "" : "The tenant must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'.";
    return ok;
  }

  function init() {
    finishOAuth();

    $("signin-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = $("signin-tenant").value.trim();
      const key = $("signin-key").value.trim();
      const tOk = checkTenant(t, "signin-tenant-error");
      $("signin-key-error").textContent = key ? "" : "Enter an API key.";
      $("signin-key").setAttribute("aria-invalid", key ? "false" : "true");
      $("signin-tenant").setAttribute("aria-invalid", tOk ? "false" : "true");
      if (!tOk) { $("signin-tenant").focus(); return; }
      if (!key) { $("signin-key").focus(); return; }
      clearCredentials();
      store.set(KEY.apiKey, key);
      store.set(KEY.tenant, t);
      $("signin-key").value = "";
      hideAlert();
      showHooks();
      loadHooks();
    });
    $("signin-oauth").addEventListener("click", () => {
      const t = $("signin-tenant").value.trim();
      if (t && !checkTenant(t, "signin-tenant-error")) { $("signin-tenant").focus(); return; }
      startOAuth(t);
    });
    $("sign-out").addEventListener("click", () => {
      clearCredentials();
      webhooks = [];
      listLoaded = false;
      revealed.clear();
      render();
      hideAlert();
      showSignin();
      notice("Signed out.");
      $("signin-tenant").focus();
    });
    $("alert-signin").addEventListener("click", () => {
      clearCredentials();
      hideAlert();
      showSignin();
      $("signin-key").focus();
    });
    $("tenant-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = $("tenant").value.trim();
      if (!checkTenant(t, "tenant-error")) { $("tenant").focus(); return; }
      store.set(KEY.tenant, t);
      revealed.clear();
      hideAlert();
      showHooks();
      loadHooks();
    });
    $("new-hook").addEventListener("click", () => openEditor(null));
    $("reload").addEventListener("click", () => loadHooks());
    $("edit-form").addEventListener("submit", saveEditor);
    $("edit-cancel").addEventListener("click", () => $("edit-dialog").close());
    $("delete-form").addEventListener("submit", confirmDelete);
    $("delete-cancel").addEventListener("click", () => $("delete-dialog").close());
    // Live re-validation of a field once it has shown an error.
    for (const f of ["description", "endpoint", "events"]) {
      $("f-" + f).addEventListener("input", () => {
        if ($("f-" + f).getAttribute("aria-invalid") !== "true") return;
        const errs = validateForm(readForm());
        setFieldError(f, errs[f] || []);
      });
    }

    if (credentials()) {
      showHooks();
      if (tenant()) loadHooks();
      else {
        webhooks = [];
        listLoaded = false;
        render();
        $("hooks-title").textContent = "Pick a tenant";
        $("tenant").focus();
      }
    } else {
      showSignin();
    }
  }

  // For tests and the curious: the validation rules, without the page.
  window.hookspoolValidation = { validateEndpoint, validateEvents, validateDescription, parseEvents };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
