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

  // Returns { status, data, problem, headers } or throws on network failure.
  function api(method, path, body, contentType) {
    return apiAt(method, apiUrl(path), body, contentType);
  }

  // The same for a URL the API handed out (a Link header). The credentials go to
  // this page's own origin only.
  async function apiAt(method, url, body, contentType) {
    if (new URL(url, location.href).origin !== location.origin)
      throw new Error("refusing to send credentials to " + url);
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
      res = await fetch(url, init);
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
    leaveHookView();
    $("hooks").hidden = true;
    $("session").hidden = true;
    $("signin").hidden = false;
    $("signin-oauth").hidden = !OAUTH.authorizeUrl;
    $("signin-tenant").value = tenant();
    $("signin-key").value = "";
  }

  function showHooks() {
    const cred = credentials();
    leaveHookView();
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

    const deliveries = el("button", { type: "button", class: "secondary small", text: "Deliveries",
                                      "aria-label": "Deliveries of " + label(w) });
    deliveries.addEventListener("click", () => openHook(w.id, { push: true }));
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
        senderDisabledFlag(w),
      ]),
      el("td", { "data-label": "Secret" }, [el("span", { class: "secret-box" }, [secret, reveal, copy])]),
      el("td", { "data-label": "Actions" }, [el("span", { class: "row-actions" }, [deliveries, edit, del])]),
    ]);
    if (!w.enabled) tr.classList.add("disabled");
    return tr;
  }

  // A webhook the sender disabled (410 Gone, or failing for disable_after_days)
  // carries disabledReason and disabledAt until it is enabled again.
  function disabledBySender(w) {
    return !w.enabled && typeof w.disabledReason === "string";
  }

  function senderDisabledFlag(w) {
    if (!disabledBySender(w)) return null;
    const why = el("button", { type: "button", class: "secondary small", text: "See failures",
                               "aria-label": "See failures: why " + label(w) + " was disabled" });
    why.addEventListener("click", () => openHook(w.id, { push: true }));
    return el("p", { class: "flag" }, [
      el("span", { text: "Disabled by the sender: " + w.disabledReason }), why]);
  }

  // Makes w equal to data: members the server dropped (disabledReason) go too.
  function replaceHook(w, data) {
    for (const k of Object.keys(w)) if (!(k in data)) delete w[k];
    Object.assign(w, data);
    return w;
  }

  function label(w) {
    return (w.description ? w.description + " " : "") + "(" + w.id + ")";
  }

  async function copySecret(w) {
    if (await copyText(w.signatureSecret)) {
      notice("Secret of " + label(w) + " copied to the clipboard.");
    } else {
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
      replaceHook(w, r.data);
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

  // ---------------------------------------------------------------- one webhook: deliveries and operations
  const PAGE_SIZE = 20;
  const POLL_MS = 1500, POLL_FOR_MS = 30000;
  let current = null;          // the webhook shown in the webhook view
  let deliveries = [];         // the page of deliveries shown
  let pages = [];              // the URLs of the pages walked through; the last one is shown
  let nextUrl = null;          // the Link rel="next" of the page shown
  let pollTimer = null, pollUntil = 0;
  const watched = new Set();   // ids of the deliveries just pinged or redelivered
  const rotations = new Map(); // webhook id -> previousSecretExpiresAt of a rotation made here
  let shownDelivery = null;    // the delivery in the delivery dialog
  const PAGE_TITLE = document.title;

  function hookPath(id, rest) { return tenantPath(id) + (rest || ""); }

  function deliveriesUrl(id) {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    const status = $("status-filter").value;
    if (status) q.set("status", status);
    return apiUrl(hookPath(id, "/deliveries?" + q.toString()));
  }

  // The Link header's rel="next" URL. One on another origin (an API behind a
  // proxy that names its inner host) is not followed: its cursor is asked of
  // this origin instead, so that credentials never leave it.
  function nextPage(link, requestUrl) {
    const m = /<([^>]*)>[^,]*;\s*rel="?next"?/i.exec(link || "");
    if (!m) return null;
    const base = new URL(requestUrl, location.href);
    let u;
    try { u = new URL(m[1], base); } catch (e) { return null; }
    if (u.origin === location.origin) return u.pathname + u.search;
    const cursor = u.searchParams.get("cursor");
    if (!cursor) return null;
    base.searchParams.set("cursor", cursor);
    return base.pathname + base.search;
  }

  function timeEl(iso, none) {
    if (!iso) return el("span", { class: "muted", text: none || "none" });
    const d = new Date(iso);
    const text = isNaN(d.getTime()) ? iso
      : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
    return el("time", { datetime: iso, title: iso, text });
  }

  function fromNow(iso) {
    const ms = new Date(iso).getTime() - Date.now();
    if (isNaN(ms)) return "";
    const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
    const min = Math.round(ms / 60000);
    if (Math.abs(min) < 60) return rtf.format(min, "minute");
    const hours = Math.round(ms / 3600000);
    if (Math.abs(hours) < 48) return rtf.format(hours, "hour");
    return rtf.format(Math.round(ms / 86400000), "day");
  }

  // "HTTP 500", an error without a status ("timed out after 30 s"), or both;
  // an error that already names the status is not repeated.
  function answerText(code, error) {
    if (code == null) return error || "no answer";
    const status = "HTTP " + code;
    if (!error) return status;
    return error.startsWith(status) ? error : status + ": " + error;
  }

  function attemptsText(n) { return n === 1 ? "1 attempt" : n + " attempts"; }

  function statusBadge(status) {
    return el("span", { class: "status status-" + String(status).replace(/[^a-z]/g, ""), text: status });
  }

  function shortId(id) { return String(id).slice(0, 8); }

  function lastFailed(d) {
    return d.attemptCount > 0 && !(d.lastStatusCode >= 200 && d.lastStatusCode < 300);
  }

  function opsError(text) {
    const box = $("ops-error");
    box.textContent = "";
    if (text) box.append(el("p", { text }));
    box.hidden = !text;
  }

  function stopPolling() {
    if (pollTimer) window.clearTimeout(pollTimer);
    pollTimer = null;
    watched.clear();
  }

  function leaveHookView() {
    stopPolling();
    current = null;
    deliveries = [];
    pages = [];
    nextUrl = null;
    for (const d of ["delivery-dialog", "rotate-dialog"]) if ($(d).open) $(d).close();
    $("hook-view").hidden = true;
    document.title = PAGE_TITLE;
  }

  function viewHash(id) { return "#webhook=" + encodeURIComponent(id); }

  function hashWebhook() {
    const p = new URLSearchParams(location.hash.replace(/^#/, ""));
    return p.get("webhook");
  }

  // The webhook view: its state and operations, then its deliveries.
  async function openHook(id, opts) {
    opts = opts || {};
    if (opts.push && location.hash !== viewHash(id)) history.pushState(null, "", viewHash(id));
    leaveHookView();
    hideAlert();
    opsError("");
    $("notice").textContent = "";
    const known = webhooks.find((x) => x.id === id);
    current = known ? Object.assign({}, known) : { id, events: [], endpoint: "", enabled: true };
    $("status-filter").value = "";
    $("hooks").hidden = true;
    $("hook-view").hidden = false;
    renderHook();
    $("hook-view-title").focus();
    const hook = current;
    if (!(await refreshHook()) || hook !== current) return;
    await firstPage();
  }

  async function backToList() {
    const id = current && current.id;
    leaveHookView();
    if (hashWebhook() !== null) history.pushState(null, "", location.pathname + location.search);
    $("hooks").hidden = false;
    await loadHooks();
    const button = id && document.querySelector('tr[data-id="' + cssEscape(id) + '"] button');
    if (button) button.focus(); else $("new-hook").focus();
  }

  function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s; }

  // Reads the webhook again (its enabled state and the sender's reason change
  // behind the page's back). False when the view had to close.
  async function refreshHook() {
    const hook = current;
    let r;
    try {
      r = await api("GET", hookPath(hook.id));
    } catch (e) {
      if (e.network) opsError(e.message);
      return false;
    }
    if (hook !== current) return false;
    if (handleAuthProblem(r)) return false;
    if (r.status === 404) {
      await backToList();
      showAlert("Webhook " + hook.id + " no longer exists.", false);
      return false;
    }
    if (r.status !== 200 || !r.data) {
      opsError(problemText(r.problem));
      return false;
    }
    replaceHook(current, r.data);
    const listed = webhooks.find((x) => x.id === current.id);
    if (listed) replaceHook(listed, r.data);
    renderHook();
    if (disabledBySender(current)) loadFailures();
    return true;
  }

  function renderHook() {
    const w = current;
    $("hook-view-title").textContent = "Webhook " + label(w);
    document.title = "Webhook " + label(w) + " — hookspool";
    $("hook-view-endpoint").textContent = w.endpoint || "";
    $("hook-view-id").textContent = "id " + w.id;
    const bySender = disabledBySender(w);
    $("sender-disabled").hidden = !bySender;
    $("manually-disabled").hidden = w.enabled || bySender;
    if (bySender) {
      const text = $("sender-disabled-text");
      text.textContent = "";
      text.append("Since ", timeEl(w.disabledAt, "an unknown time"), ": " + w.disabledReason +
                  ". Nothing is delivered to it until it is enabled again.");
    }
    $("ping").disabled = !w.enabled;
    $("ops-hint").textContent = w.enabled
      ? "A ping sends a Webhook:Ping event to this webhook alone, with the usual retries."
      : "A disabled webhook receives nothing: enable it to send a ping or a delivery again.";
    const until = rotations.get(w.id);
    const rs = $("rotation-state");
    rs.textContent = "";
    rs.hidden = !(until && new Date(until).getTime() > Date.now());
    if (!rs.hidden) rs.append("The previous secret still signs too, until ", timeEl(until), ".");
    if (deliveries.length) renderDeliveries();
  }

  // The failures behind a sender's decision: the recent deliveries whose last
  // attempt failed, whatever their status (one may still be pending, waiting
  // for its next attempt, when the webhook stops).
  async function loadFailures() {
    const hook = current;
    const list = $("failures");
    const caption = $("failures-caption");
    let r;
    try {
      r = await api("GET", hookPath(hook.id, "/deliveries?limit=50"));
    } catch (e) {
      return;
    }
    if (hook !== current || r.status !== 200 || !Array.isArray(r.data)) return;
    const failed = r.data.filter(lastFailed);
    list.textContent = "";
    caption.textContent = failed.length
      ? "The failed deliveries behind it, newest first:"
      : "No failed delivery is on record any more (deliveries are kept for a limited number of days).";
    for (const d of failed.slice(0, 10)) {
      const details = el("button", { type: "button", class: "secondary small", text: "Details",
                                     "aria-label": "Details of the failed " + d.eventType + " delivery " + shortId(d.deliveryId) });
      details.addEventListener("click", () => openDelivery(d.deliveryId));
      list.append(el("li", { "data-id": d.deliveryId }, [
        timeEl(d.lastAttemptAt || d.createdAt), " ", el("span", { class: "event", text: d.eventType }), " ",
        el("span", { class: "answer", text: answerText(d.lastStatusCode, d.lastError) }),
        " (" + attemptsText(d.attemptCount) + ") ", details]));
    }
    if (failed.length > 10) caption.textContent += " (the 10 latest of " + failed.length + ")";
  }

  async function firstPage() {
    if (!current) return;
    pages = [deliveriesUrl(current.id)];
    await loadDeliveries(pages[0]);
  }

  async function loadDeliveries(url) {
    const hook = current;
    let r;
    try {
      r = await apiAt("GET", url);
    } catch (e) {
      if (e.network) opsError(e.message);
      return false;
    }
    if (hook !== current) return false;
    if (handleAuthProblem(r)) return false;
    if (r.status !== 200 || !Array.isArray(r.data)) {
      // 404: the webhook is gone (refreshHook closes the view), or an API
      // without deliveries: say so.
      if (r.status === 404 && !(await refreshHook())) return false;
      opsError(problemText(r.problem));
      return false;
    }
    deliveries = r.data;
    nextUrl = nextPage(r.headers.get("Link"), url);
    renderDeliveries();
    return true;
  }

  function renderDeliveries() {
    const tbody = $("delivery-rows");
    // The rows are redrawn (paging, refresh, polling): keep the focus where it was.
    const a = document.activeElement;
    const focusKey = a && tbody.contains(a) && a.closest("tr")
      ? [a.closest("tr").getAttribute("data-id"), a.getAttribute("data-action")] : null;
    tbody.textContent = "";
    for (const d of deliveries) tbody.append(deliveryRow(d));
    const status = $("status-filter").value;
    $("delivery-table").hidden = deliveries.length === 0;
    $("deliveries-empty").hidden = deliveries.length !== 0;
    $("deliveries-empty").textContent = pages.length > 1 ? "No more deliveries."
      : status ? "No " + status + " deliveries." : "No deliveries yet: they appear here as events are sent.";
    $("pager").hidden = pages.length <= 1 && !nextUrl;
    $("page-newer").disabled = pages.length <= 1;
    $("page-older").disabled = !nextUrl;
    $("page-info").textContent = "Page " + Math.max(pages.length, 1) + ", newest first" +
      (status ? ", " + status + " only" : "");
    if (focusKey) {
      const row = tbody.querySelector('tr[data-id="' + cssEscape(focusKey[0]) + '"]');
      const again = row && row.querySelector('[data-action="' + focusKey[1] + '"]');
      if (again && !again.disabled) again.focus();
      else $("delivery-table").focus();
    }
  }

  function deliveryRow(d) {
    const name = d.eventType + " delivery " + shortId(d.deliveryId);
    const details = el("button", { type: "button", class: "secondary small", text: "Details",
                                   "data-action": "details", "aria-label": "Details of " + name });
    details.addEventListener("click", () => openDelivery(d.deliveryId));
    const again = el("button", { type: "button", class: "secondary small", text: "Redeliver",
                                 "data-action": "redeliver", "aria-label": "Redeliver " + name,
                                 "aria-describedby": "ops-hint" });
    again.disabled = !current.enabled;
    again.addEventListener("click", () => redeliver(d.deliveryId, again, opsError));
    const last = d.attemptCount > 0
      ? [el("span", { class: "answer", text: answerText(d.lastStatusCode, d.lastError) }), " ",
         timeEl(d.lastAttemptAt)]
      : [el("span", { class: "muted", text: "not yet" })];
    return el("tr", { "data-id": d.deliveryId, class: "delivery-" + d.status }, [
      el("td", { "data-label": "Created" }, [timeEl(d.createdAt)]),
      el("td", { "data-label": "Event" }, [el("span", { class: "event", text: d.eventType }),
                                           el("span", { class: "id", title: d.deliveryId, text: "id " + shortId(d.deliveryId) + "…" })]),
      el("td", { "data-label": "Status" }, [statusBadge(d.status), " ",
                                            el("span", { class: "count", text: attemptsText(d.attemptCount) })]),
      el("td", { "data-label": "Last attempt" }, last),
      el("td", { "data-label": "Next attempt" }, [timeEl(d.nextAttemptAt),
        d.nextAttemptAt && !current.enabled ? el("span", { class: "muted held", text: " (not while disabled)" }) : null]),
      el("td", { "data-label": "Actions" }, [el("span", { class: "row-actions" }, [details, again])]),
    ]);
  }

  // After a ping or a redelivery, that delivery is read again every POLL_MS
  // while it is pending (at most POLL_FOR_MS): its row follows, and its
  // outcome is announced.
  function watch(d) {
    watched.add(d.deliveryId);
    pollUntil = Date.now() + POLL_FOR_MS;
    if (!pollTimer) pollTimer = window.setTimeout(poll, POLL_MS);
  }

  async function poll() {
    pollTimer = null;
    const hook = current;
    if (!hook) return;
    let finished = false;
    for (const id of [...watched]) {
      let r;
      try {
        r = await api("GET", hookPath(hook.id, "/deliveries/" + encodeURIComponent(id)));
      } catch (e) {
        continue;
      }
      if (hook !== current) return;
      if (r.status !== 200 || !r.data) { watched.delete(id); continue; }
      const d = r.data;
      const i = deliveries.findIndex((x) => x.deliveryId === id);
      if (i >= 0) {
        const row = Object.assign({}, d);
        delete row.attempts;
        delete row.payload;
        deliveries[i] = row;
      }
      if (d.status !== "pending") {
        watched.delete(id);
        finished = true;
        notice("The " + d.eventType + " delivery " + shortId(id) + " " + d.status +
               " (" + answerText(d.lastStatusCode, d.lastError) + ").");
      }
      if (shownDelivery === id && $("delivery-dialog").open) showDelivery(d);
    }
    renderDeliveries();
    if (finished && pages.length) await loadDeliveries(pages[pages.length - 1]);
    if (hook !== current) return;
    if (watched.size && Date.now() < pollUntil) pollTimer = window.setTimeout(poll, POLL_MS);
    else watched.clear();
  }

  // 409 and 404 on an operation mean the page is behind: read the webhook again.
  async function operationFailed(r, sink) {
    if (r.status === 401 || r.status === 403) {
      for (const d of ["delivery-dialog", "rotate-dialog"]) if ($(d).open) $(d).close();
      handleAuthProblem(r);
      return;
    }
    sink(problemText(r.problem));
    if (r.status === 409 || r.status === 404) await refreshHook();
  }

  async function redeliver(deliveryId, button, sink) {
    const hook = current;
    sink("");
    button.disabled = true;
    let r;
    try {
      r = await api("POST", hookPath(hook.id, "/deliveries/" + encodeURIComponent(deliveryId) + "/redeliver"));
    } catch (e) {
      button.disabled = false;
      if (e.network) sink(e.message);
      return;
    }
    button.disabled = !current || !current.enabled;
    if (hook !== current) return;
    if (r.status !== 202 || !r.data) { await operationFailed(r, sink); return; }
    const i = deliveries.findIndex((d) => d.deliveryId === deliveryId);
    if (i >= 0) { deliveries[i] = r.data; renderDeliveries(); }
    notice("The " + r.data.eventType + " delivery " + shortId(deliveryId) + " will be sent again.");
    watch(r.data);
    if (shownDelivery === deliveryId && $("delivery-dialog").open) openDelivery(deliveryId);
  }

  async function ping() {
    const hook = current;
    opsError("");
    $("ping").disabled = true;
    let r;
    try {
      r = await api("POST", hookPath(hook.id, "/ping"));
    } catch (e) {
      $("ping").disabled = false;
      if (e.network) opsError(e.message);
      return;
    }
    if (hook !== current) return;
    $("ping").disabled = !current.enabled;
    if (r.status !== 202 || !r.data) { await operationFailed(r, opsError); return; }
    notice("Ping sent: delivery " + shortId(r.data.deliveryId) + " is pending.");
    // The new delivery is the newest: show the first page it belongs on.
    const status = $("status-filter").value;
    if (status && status !== "pending") $("status-filter").value = "";
    await firstPage();
    watch(r.data);
  }

  // ---------------------------------------------------------------- one delivery
  async function openDelivery(deliveryId) {
    const hook = current;
    let r;
    try {
      r = await api("GET", hookPath(hook.id, "/deliveries/" + encodeURIComponent(deliveryId)));
    } catch (e) {
      if (e.network) opsError(e.message);
      return;
    }
    if (hook !== current) return;
    if (r.status !== 200 || !r.data) { await operationFailed(r, opsError); return; }
    showDelivery(r.data);
  }

  function showDelivery(d) {
    shownDelivery = d.deliveryId;
    $("delivery-title").textContent = d.eventType + " delivery";
    const dl = $("delivery-summary");
    dl.textContent = "";
    const item = (term, ...value) => dl.append(el("dt", { text: term }), el("dd", {}, value));
    item("Delivery id", el("code", { class: "id-full", text: d.deliveryId }));
    item("Event id", el("code", { class: "id-full", text: d.eventId }));
    item("Status", statusBadge(d.status), " ", attemptsText(d.attemptCount));
    item("Created", timeEl(d.createdAt));
    item("Next attempt", timeEl(d.nextAttemptAt));
    const attempts = Array.isArray(d.attempts) ? d.attempts : [];
    const tbody = $("attempt-rows");
    tbody.textContent = "";
    for (const a of attempts) {
      const ok = a.statusCode >= 200 && a.statusCode < 300;
      tbody.append(el("tr", { class: ok ? "attempt-ok" : "attempt-failed" }, [
        el("td", { "data-label": "Attempt", text: String(a.attempt) }),
        el("td", { "data-label": "At" }, [timeEl(a.at)]),
        el("td", { "data-label": "Answer", class: "answer", text: answerText(a.statusCode, a.error) }),
        el("td", { "data-label": "Duration", text: a.durationMs == null ? "" : a.durationMs + " ms" }),
      ]));
    }
    $("attempt-table").hidden = attempts.length === 0;
    $("attempts-empty").hidden = attempts.length !== 0;
    $("payload").textContent = d.payload === undefined ? "(not kept)" : JSON.stringify(d.payload, null, 2);
    $("delivery-redeliver").disabled = !current.enabled;
    if (!$("delivery-dialog").open) {
      $("delivery-error").hidden = true;
      $("delivery-dialog").showModal();
      $("delivery-close").focus();
    }
  }

  function deliveryError(text) {
    const box = $("delivery-error");
    box.textContent = text || "";
    box.hidden = !text;
  }

  // ---------------------------------------------------------------- rotate secret
  function openRotate() {
    const w = current;
    $("rotate-title").textContent = "Rotate the secret of " + label(w) + "?";
    $("rotate-text").textContent = "A new signature secret is made for " + label(w) +
      ". Receivers that check signatures need it; choose how long the old secret keeps signing while they switch.";
    $("rotate-overlap").value = "86400";
    $("rotate-overlap-error").textContent = "";
    $("rotate-overlap").removeAttribute("aria-invalid");
    $("rotate-error").hidden = true;
    $("rotate-ask").hidden = false;
    $("rotate-done").hidden = true;
    $("rotate-secret").textContent = "";
    $("rotate-confirm").disabled = false;
    $("rotate-dialog").showModal();
    $("rotate-overlap").focus();
  }

  async function confirmRotate(ev) {
    ev.preventDefault();
    if (!$("rotate-done").hidden) return;
    const hook = current;
    const overlapSeconds = Number($("rotate-overlap").value);
    $("rotate-error").hidden = true;
    $("rotate-confirm").disabled = true;
    let r;
    try {
      r = await api("POST", hookPath(hook.id, "/rotate-secret"), { overlapSeconds });
    } catch (e) {
      $("rotate-confirm").disabled = false;
      if (e.network) { $("rotate-error").textContent = e.message; $("rotate-error").hidden = false; }
      return;
    }
    $("rotate-confirm").disabled = false;
    if (hook !== current) return;
    if (r.status !== 200 || !r.data || typeof r.data.signatureSecret !== "string") {
      if (r.status === 401 || r.status === 403 || r.status === 404) {
        $("rotate-dialog").close();
        await operationFailed(r, opsError);
        return;
      }
      const p = r.problem;
      const field = p.errors && p.errors.overlapSeconds;
      if (field) {
        $("rotate-overlap-error").textContent = [].concat(field).join(" ");
        $("rotate-overlap").setAttribute("aria-invalid", "true");
        $("rotate-overlap").focus();
      } else {
        $("rotate-error").textContent = problemText(p);
        $("rotate-error").hidden = false;
        $("rotate-error").focus();
      }
      return;
    }
    const until = r.data.previousSecretExpiresAt || null;
    const data = Object.assign({}, r.data);
    delete data.previousSecretExpiresAt;      // not a member of the webhook itself
    replaceHook(current, data);
    const listed = webhooks.find((x) => x.id === current.id);
    if (listed) replaceHook(listed, data);
    if (until) rotations.set(current.id, until); else rotations.delete(current.id);
    $("rotate-secret").textContent = data.signatureSecret;
    const u = $("rotate-until");
    u.textContent = "";
    if (until) u.append("The old secret still signs too, until ", timeEl(until), " (" + fromNow(until) + ").");
    else u.append("The old secret no longer signs: only the new one does.");
    $("rotate-ask").hidden = true;
    $("rotate-done").hidden = false;
    $("rotate-title").textContent = "Secret of " + label(current) + " rotated";
    $("rotate-copy").focus();
    renderHook();
    notice("The secret of " + label(current) + " was rotated.");
  }

  async function copyText(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
      const ta = el("textarea", { class: "visually-hidden", readonly: true });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      const ok = document.execCommand("copy");
      ta.remove();
      return ok;
    } catch (e) {
      return false;
    }
  }

  async function enableAgain() {
    const hook = current;
    $("enable-again").disabled = true;
    let r;
    try {
      r = await api("PATCH", hookPath(hook.id), { enabled: true }, "application/merge-patch+json");
    } catch (e) {
      if (e.network) opsError(e.message);
      return;
    } finally {
      $("enable-again").disabled = false;
    }
    if (hook !== current) return;
    if (r.status !== 200) { await operationFailed(r, opsError); return; }
    await refreshHook();
    renderDeliveries();
    notice(label(current) + " enabled.");
    $("ping").focus();
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
      route();
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
      rotations.clear();
      render();
      hideAlert();
      showSignin();
      if (hashWebhook() !== null) history.replaceState(null, "", location.pathname + location.search);
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
      rotations.clear();
      hideAlert();
      if (hashWebhook() !== null) history.replaceState(null, "", location.pathname + location.search);
      showHooks();
      loadHooks();
    });
    $("new-hook").addEventListener("click", () => openEditor(null));
    $("reload").addEventListener("click", () => loadHooks());
    $("edit-form").addEventListener("submit", saveEditor);
    $("edit-cancel").addEventListener("click", () => $("edit-dialog").close());
    $("delete-form").addEventListener("submit", confirmDelete);
    $("delete-cancel").addEventListener("click", () => $("delete-dialog").close());
    $("back-to-list").addEventListener("click", () => backToList());
    $("status-filter").addEventListener("change", () => { stopPolling(); firstPage(); });
    $("delivery-filter").addEventListener("submit", (ev) => { ev.preventDefault(); firstPage(); });
    $("deliveries-refresh").addEventListener("click", async () => {
      opsError("");
      if (await refreshHook()) await loadDeliveries(pages[pages.length - 1] || deliveriesUrl(current.id));
    });
    $("page-older").addEventListener("click", async () => {
      if (!nextUrl) return;
      const url = nextUrl;
      if (await loadDeliveries(url)) {
        pages.push(url);
        renderDeliveries();
        $("page-info").focus();
      }
    });
    $("page-newer").addEventListener("click", async () => {
      if (pages.length <= 1) return;
      const back = pages[pages.length - 2];
      if (await loadDeliveries(back)) {
        pages.pop();
        renderDeliveries();
        $("page-info").focus();
      }
    });
    $("ping").addEventListener("click", ping);
    $("rotate").addEventListener("click", openRotate);
    $("enable-again").addEventListener("click", enableAgain);
    $("delivery-redeliver").addEventListener("click", () => {
      if (shownDelivery) redeliver(shownDelivery, $("delivery-redeliver"), deliveryError);
    });
    $("delivery-dialog").addEventListener("close", () => {
      const id = shownDelivery;
      shownDelivery = null;
      // The row that opened it may have been redrawn meanwhile (the browser
      // then has nothing to give the focus back to): focus its successor.
      if (document.activeElement && document.activeElement !== document.body) return;
      const row = id && (document.querySelector('#delivery-rows tr[data-id="' + cssEscape(id) + '"]') ||
                         document.querySelector('#failures li[data-id="' + cssEscape(id) + '"]'));
      const button = row && row.querySelector("button");
      if (button) button.focus(); else if (!$("hook-view").hidden) $("hook-view-title").focus();
    });
    $("rotate-form").addEventListener("submit", confirmRotate);
    $("rotate-cancel").addEventListener("click", () => $("rotate-dialog").close());
    $("rotate-close").addEventListener("click", () => {
      $("rotate-secret").textContent = "";
      $("rotate-dialog").close();
    });
    $("rotate-copy").addEventListener("click", async () => {
      const ok = await copyText($("rotate-secret").textContent);
      notice(ok ? "The new secret was copied to the clipboard." : "Could not copy: select the secret and copy it by hand.");
    });
    // The new secret stays on screen only while the dialog is open (Done and
    // Escape wipe it at once, the close event in any case).
    $("rotate-dialog").addEventListener("cancel", () => { $("rotate-secret").textContent = ""; });
    $("rotate-dialog").addEventListener("close", () => {
      $("rotate-secret").textContent = "";
      if (current && !$("hook-view").hidden) $("rotate").focus();
    });
    window.addEventListener("popstate", route);
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
      if (tenant()) route();
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

  // The address names the webhook view (#webhook=ID), so that Back and a
  // reload come back to it.
  function route() {
    if (!credentials() || !tenant()) return;
    const id = hashWebhook();
    if (id) {
      if (!current || current.id !== id) openHook(id, { push: false });
      return;
    }
    if (current) { backToList(); return; }
    loadHooks();
  }

  // For tests and the curious: the validation rules, without the page.
  window.hookspoolValidation = { validateEndpoint, validateEvents, validateDescription, parseEvents };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
