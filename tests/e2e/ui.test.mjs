// End-to-end test of the management UI (www/) in Debian's headless Chromium,
// driven by playwright-core. Every UI step is checked against the API too.
//
//   node tests/e2e/ui.test.mjs BASE_URL API_KEY TENANT SCREENSHOT_DIR
//
// Prints one line per check, "ok - NAME" or "not ok - NAME: DETAIL", then
// "done N passed, N failed". tests/integration/test_ui.py runs it.
import { chromium } from "playwright-core";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [BASE, KEY, TENANT, SHOTS] = process.argv.slice(2);
if (!BASE || !KEY || !TENANT || !SHOTS) {
  console.error("usage: node ui.test.mjs BASE_URL API_KEY TENANT SCREENSHOT_DIR");
  process.exit(2);
}
fs.mkdirSync(SHOTS, { recursive: true });
let passed = 0, failed = 0;

function check(cond, name, detail) {
  if (cond) { passed++; console.log("ok - " + name); }
  else { failed++; console.log("not ok - " + name + (detail !== undefined ? ": " + String(detail).slice(0, 500) : "")); }
  return !!cond;
}
const eq = (got, want, name) =>
  check(JSON.stringify(got) === JSON.stringify(want), name, "got " + JSON.stringify(got) + ", want " + JSON.stringify(want));

// The API, straight over HTTP, to confirm what the UI did.
async function api(method, p, body) {
  const headers = { "X-API-KEY": KEY };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(BASE + "/api/" + TENANT + "/webhooks" + p, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, data: text ? JSON.parse(text) : null };
}

// axe-core's rules (WCAG 2 A and AA, best practices) on the page as it is now.
// Evaluated through the devtools protocol, so the page's CSP stays as it is.
const AXE = fs.readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
async function accessible(page, what) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(AXE);
  const found = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] }))
    .violations.map((v) => v.id + " (" + v.impact + "): " + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")));
  eq(found, [], "accessibility (axe-core): no violations in " + what);
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage });
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "hookspool-chromium-"));
// A fresh, empty profile (Playwright passes it as --user-data-dir). Each test
// below uses its own tab, so each starts with empty sessionStorage.
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
});

try {
  await mainFlow();
  await oauthFlow();
  await forgedOAuthAnswer();
  await validationParity();
  if (process.env.HOOKSPOOL_E2E_HTTP_BASE) await httpAllowedFlow();
  if (process.env.HOOKSPOOL_E2E_OPS) await opsFlow();
} catch (e) {
  check(false, "the test ran to the end", e && e.stack || e);
} finally {
  await browser.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log("done " + passed + " passed, " + failed + " failed");
process.exit(failed ? 1 : 0);

async function mainFlow() {
  await browser.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  const page = await browser.newPage();
  page.setDefaultTimeout(10000);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // HTTP errors from the API are expected here (the test provokes them); any
  // other console error (a script error, a CSP violation) is not.
  page.on("console", (m) => {
    if (m.type() === "error" && !/^Failed to load resource/.test(m.text())) pageErrors.push(m.text());
  });
  const missing = [];
  page.on("response", (r) => {
    if (!r.url().startsWith(BASE + "/api/") && r.status() >= 400) missing.push(r.status() + " " + r.url());
  });
  const apiRequests = [];
  page.on("request", (r) => {
    if (r.url().startsWith(BASE + "/api/"))
      apiRequests.push({ method: r.method(), url: r.url(), headers: r.headers() });
  });
  const outside = [];
  page.on("request", (r) => { if (!r.url().startsWith(BASE)) outside.push(r.url()); });

  // --- The page, signed out.
  const resp = await page.goto(BASE + "/");
  eq(resp.status(), 200, "index.html is served");
  const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
  check(csp && /default-src 'self'/.test(csp), "a Content-Security-Policy meta tag with default-src 'self'", csp);
  check(await page.isVisible("#signin"), "the sign-in form is shown first");
  check(!(await page.isVisible("#signin-oauth")), "no OAuth2 button while config.js names no authorize URL");
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, textarea, select")]
      .filter((i) => i.type !== "hidden" && i.labels.length === 0 && !i.getAttribute("aria-label"))
      .map((i) => i.id || i.name));
  eq(unlabelled, [], "every input has a label");

  // --- Sign in with the API key.
  await page.fill("#signin-tenant", TENANT);
  await page.fill("#signin-key", KEY);
  await page.click("#signin-apikey");
  await page.waitForSelector("#hooks:not([hidden])");
  await page.waitForSelector("#empty:not([hidden])");
  check(await page.isVisible("#empty"), "signed in: the empty list is shown");
  eq(await page.textContent("#tenant-name"), TENANT, "the tenant is shown");
  const storage = await page.evaluate(() => ({ session: sessionStorage.getItem("hookspool.apiKey"),
                                               local: localStorage.length, cookies: document.cookie }));
  eq(storage, { session: KEY, local: 0, cookies: "" }, "the API key is kept in sessionStorage only");
  const listReq = apiRequests.find((r) => r.method === "GET");
  check(listReq && listReq.headers["x-api-key"] === KEY, "the list request carries X-API-KEY");

  // --- Keyboard: Tab reaches New webhook, and the focus is visible.
  await page.mouse.click(5, 300);
  let reached = false;
  for (let i = 0; i < 20 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement.id === "new-hook");
  }
  check(reached, "Tab reaches the New webhook button");
  const ring = await page.evaluate(() => {
    const st = getComputedStyle(document.activeElement);
    return [st.outlineStyle, parseFloat(st.outlineWidth)];
  });
  check(ring[0] !== "none" && ring[1] >= 2, "the keyboard focus is visible", JSON.stringify(ring));

  // --- The editor opens as a modal dialog; Escape closes it.
  await page.click("#new-hook");
  check(await page.evaluate(() => document.getElementById("edit-dialog").open), "New webhook opens the dialog");
  check(await page.evaluate(() => document.getElementById("edit-dialog").contains(document.activeElement)),
        "focus moves into the dialog");
  let strayFocus = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    const where = await page.evaluate(() => {
      const a = document.activeElement;
      const d = document.getElementById("edit-dialog");
      return !a || a === document.body || d.contains(a) ? null : (a.id || a.tagName);
    });
    if (where) strayFocus.push(where);
  }
  eq(strayFocus, [], "Tab keeps focus inside the dialog");
  await page.keyboard.press("Escape");
  check(!(await page.evaluate(() => document.getElementById("edit-dialog").open)), "Escape closes the dialog");

  // --- Client-side validation: nothing is sent.
  await page.focus("#new-hook");
  await page.keyboard.press("Enter");
  check(await page.evaluate(() => document.getElementById("edit-dialog").open), "Enter on New webhook opens the dialog");
  const postsBefore = apiRequests.filter((r) => r.method === "POST").length;
  await page.fill("#f-endpoint", "https://files.example.com:99999/in");
  await page.fill("#f-events", "Pass Created");
  await page.click("#edit-save");
  await page.waitForSelector("#f-endpoint-error:not(:empty)");
  eq(await page.textContent("#f-endpoint-error"), "The endpoint's port is not valid.",
     "client-side: the endpoint error is shown next to the endpoint");
  eq(await page.textContent("#f-events-error"),
     "Event pattern 0 must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':', '*' and '-'.",
     "client-side: the events error is shown next to the events, in the server's words");
  eq(await page.getAttribute("#f-endpoint", "aria-invalid"), "true", "the endpoint is marked aria-invalid");
  eq(await page.evaluate(() => document.activeElement.id), "f-endpoint", "focus goes to the first invalid field");
  eq(apiRequests.filter((r) => r.method === "POST").length, postsBefore, "client-side errors send nothing");
  await shot(page, "client-validation");

  // --- Server-side validation: a private address passes the page's checks, not the server's.
  await page.fill("#f-endpoint", "https://10.1.2.3/hook");
  await page.fill("#f-events", "Pass:Created");
  const [serverAnswer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.url().includes("/api/")),
    page.click("#edit-save"),
  ]);
  eq(serverAnswer.status(), 400, "server-side: the API refuses the private endpoint");
  await page.waitForSelector("#f-endpoint-error:not(:empty)");
  eq(await page.textContent("#f-endpoint-error"),
     "The endpoint must not point to a private, loopback or link-local address.",
     "server-side: the problem+json error is shown next to the endpoint field");
  eq(await page.textContent("#f-events-error"), "", "server-side: no error next to the events");
  check(await page.evaluate(() => document.getElementById("edit-dialog").open), "the dialog stays open on an error");
  await shot(page, "server-validation");

  // --- The scheme is the server's call (this server has allow_http_endpoints = no):
  // the page sends an http:// endpoint and shows the server's answer.
  await page.fill("#f-endpoint", "http://crm.example.com/hooks");
  const [httpAnswer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.url().includes("/api/")),
    page.click("#edit-save"),
  ]);
  eq(httpAnswer.status(), 400, "server-side: this API refuses an http:// endpoint");
  await page.waitForFunction(() => document.getElementById("f-endpoint-error").textContent.includes("https://"));
  eq(await page.textContent("#f-endpoint-error"), "The endpoint must be an https:// URL.",
     "server-side: the server's answer on http:// is shown next to the endpoint");
  eq((await api("GET", "")).data.length, 0, "API: nothing was created by the refused requests");

  // --- Create.
  const description = "CRM sync <b>bold</b> & <img src=x>";
  await page.fill("#f-description", description);
  await page.fill("#f-endpoint", "https://crm.example.com/hooks");
  await page.fill("#f-events", "Pass:Created\nCustomer:*");
  await page.click("#edit-save");
  await page.waitForSelector("#hook-rows tr");
  check(!(await page.evaluate(() => document.getElementById("edit-dialog").open)), "the dialog closes after create");
  let list = (await api("GET", "")).data;
  eq(list.length, 1, "API: one webhook after create");
  const hook = list[0] || {};
  eq([hook.description, hook.endpoint, hook.events, hook.enabled],
     [description, "https://crm.example.com/hooks", ["Pass:Created", "Customer:*"], true],
     "API: the webhook has what was typed");
  const row = `#hook-rows tr[data-id="${hook.id}"]`;
  eq(await page.textContent(row + " .desc"), description, "the list shows the description as text");
  eq(await page.locator(row + " b, " + row + " img").count(), 0, "markup in data is not interpreted");
  eq(await page.locator(row + " .events li").allTextContents(), ["Pass:Created", "Customer:*"], "the list shows the events");
  eq(await page.textContent(row + " .endpoint"), "https://crm.example.com/hooks", "the list shows the endpoint");
  check(await page.isChecked(row + " input.switch"), "the list shows it enabled");

  // --- The secret: hidden, revealed, copied.
  const secret = hook.signatureSecret;
  check(!(await page.textContent("body")).includes(secret), "the secret is hidden by default");
  await page.click(row + ' button:has-text("Reveal")');
  eq(await page.textContent(row + " code.secret"), secret, "Reveal shows the secret");
  await page.click(row + ' button:has-text("Hide")');
  check(!(await page.textContent("body")).includes(secret), "Hide hides it again");
  await page.click(row + ' button:has-text("Copy")');
  await page.waitForFunction(() => document.getElementById("notice").textContent.includes("copied"));
  eq(await page.evaluate(() => navigator.clipboard.readText()), secret, "Copy puts the secret on the clipboard");

  // --- Edit.
  await page.click(row + ' button:has-text("Edit")');
  eq(await page.inputValue("#f-endpoint"), "https://crm.example.com/hooks", "the editor is filled in");
  await page.fill("#f-description", "CRM sync v2");
  await page.fill("#f-endpoint", "https://crm.example.com/v2");
  await page.fill("#f-events", "Pass:Created, Customer:*, Store:*.Updated");
  await page.click("#edit-save");
  await page.waitForFunction((sel) => document.querySelector(sel + " .desc")?.textContent === "CRM sync v2", row);
  const edited = (await api("GET", "/" + hook.id)).data;
  eq([edited.description, edited.endpoint, edited.events, edited.enabled, edited.signatureSecret],
     ["CRM sync v2", "https://crm.example.com/v2", ["Pass:Created", "Customer:*", "Store:*.Updated"], true, secret],
     "API: the edit is stored and the secret unchanged");
  eq(await page.textContent(row + " .endpoint"), "https://crm.example.com/v2", "the list shows the edited endpoint");

  // --- Disable.
  const [patchReq] = await Promise.all([
    page.waitForRequest((r) => r.method() === "PATCH"),
    page.click(row + " input.switch"),
  ]);
  eq([patchReq.headers()["content-type"], patchReq.postDataJSON()],
     ["application/merge-patch+json", { enabled: false }], "the toggle sends a merge patch");
  await page.waitForFunction((sel) => document.querySelector(sel + " .toggle label")?.textContent === "Disabled", row);
  eq((await api("GET", "/" + hook.id)).data.enabled, false, "API: the webhook is disabled");
  check(!(await page.isChecked(row + " input.switch")), "the list shows it disabled");

  // A second webhook, made over the API, appears on Reload (and makes a better screenshot).
  const second = (await api("POST", "", { description: "Wallet pass analytics", events: ["Pass:*", "Redirect:Redirected"],
                                          endpoint: "https://analytics.example.net/ingest/hookspool" })).data;
  await page.click("#reload");
  await page.waitForSelector(`#hook-rows tr[data-id="${second.id}"]`);
  eq(await page.locator("#hook-rows tr").count(), 2, "Reload shows a webhook created elsewhere");
  await page.click(`#hook-rows tr[data-id="${second.id}"] button:has-text("Reveal")`);
  await accessible(page, "the webhook list");
  await shot(page, "list-desktop");
  await page.click(`#hook-rows tr[data-id="${second.id}"] button:has-text("Hide")`);

  // --- Phone width.
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 375, "no horizontal scrolling at 375px", "scrollWidth " + overflow);
  check(await page.isVisible(row + ' button:has-text("Delete")'), "actions reachable at phone width");
  await shot(page, "list-phone");
  await page.setViewportSize({ width: 320, height: 640 });
  const narrow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(narrow <= 320, "no horizontal scrolling at 320px either", "scrollWidth " + narrow);
  await page.setViewportSize({ width: 375, height: 800 });
  await page.click("#new-hook");
  const dialogBox = await page.locator("#edit-dialog").boundingBox();
  check(dialogBox && dialogBox.x >= 0 && dialogBox.x + dialogBox.width <= 375, "the dialog fits a phone screen",
        JSON.stringify(dialogBox));
  await shot(page, "dialog-phone");
  await page.keyboard.press("Escape");
  await page.setViewportSize({ width: 1280, height: 800 });

  // --- Delete: Escape cancels, Delete confirms.
  await page.click(row + ' button:has-text("Delete")');
  check(await page.evaluate(() => document.getElementById("delete-dialog").open), "Delete asks for confirmation");
  check((await page.textContent("#delete-text")).includes("CRM sync v2"), "the confirmation names the webhook");
  eq(await page.evaluate(() => document.activeElement.id), "delete-cancel", "Cancel has the focus");
  await page.keyboard.press("Escape");
  check(!(await page.evaluate(() => document.getElementById("delete-dialog").open)), "Escape cancels the delete");
  eq((await api("GET", "/" + hook.id)).status, 200, "API: still there after cancel");
  await page.click(row + ' button:has-text("Delete")');
  await page.click("#delete-confirm");
  await page.waitForSelector(row, { state: "detached" });
  eq((await api("GET", "/" + hook.id)).status, 404, "API: deleted after confirm");
  eq(await page.locator("#hook-rows tr").count(), 1, "the list no longer shows it");

  // --- 403: another tenant.
  await page.fill("#tenant", "not-" + TENANT);
  await page.click('#tenant-form button[type="submit"]');
  await page.waitForSelector("#alert:not([hidden])");
  const alert403 = await page.textContent("#alert-text");
  check(/403/.test(alert403) && /tenant/i.test(alert403), "403 for another tenant is explained", alert403);
  check(await page.isVisible("#alert-signin"), "403 offers to sign in again");
  check(await page.isHidden("#empty") && (await page.locator("#hook-rows tr").count()) === 0,
        "403: no list and no claim that the tenant has no webhooks");
  await shot(page, "forbidden");
  await page.fill("#tenant", TENANT);
  await page.click('#tenant-form button[type="submit"]');
  await page.waitForSelector(`#hook-rows tr[data-id="${second.id}"]`);
  check(await page.isHidden("#alert"), "switching back clears the 403 message");
  eq(await page.locator("#hook-rows tr").count(), 1, "switching back lists the tenant's webhooks");

  // --- Sign out.
  await page.click("#sign-out");
  check(await page.isVisible("#signin"), "Sign out shows the sign-in form");
  eq(await page.evaluate(() => sessionStorage.getItem("hookspool.apiKey")), null, "Sign out forgets the key");

  eq(outside, [], "nothing is loaded from another origin");
  eq(pageErrors, [], "no script errors or CSP violations");
  eq(missing, [], "every file the page loads is there");
  await api("DELETE", "/" + second.id);
  await page.close();
}

// OAuth2 implicit flow against a stand-in identity provider (a Playwright
// route) that hands out the token test_ui.py signed with the API's HS256
// secret: a real sign-in that the API accepts, then one with a token signed by
// someone else, which the API refuses.
async function oauthFlow() {
  const GOOD = process.env.HOOKSPOOL_E2E_TOKEN || "";
  const BAD = process.env.HOOKSPOOL_E2E_BAD_TOKEN || "";
  const AUD = process.env.HOOKSPOOL_E2E_AUDIENCE || "";
  if (!check(GOOD && BAD && AUD, "OAuth2: test_ui.py handed over the tokens")) return;
  let handOut = GOOD;
  let authorizeQuery = null;
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1024, height: 700 });
  page.setDefaultTimeout(10000);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // The deployment's config.js, as an operator would write it.
  await page.route("**/config.js", (route) => route.fulfill({
    contentType: "text/javascript",
    body: `window.HOOKSPOOL_CONFIG = { apiBase: "/api", oauth2: {
      authorizeUrl: "${BASE}/fake-idp/authorize", clientId: "hookspool-ui",
      audience: ${JSON.stringify(AUD)}, scopes: "Webhook.Read Webhook.Write", tenantClaim: "tenants" } };`,
  }));
  await page.route("**/fake-idp/authorize**", (route) => {
    const u = new URL(route.request().url());
    authorizeQuery = Object.fromEntries(u.searchParams);
    const back = u.searchParams.get("redirect_uri") + "#" + new URLSearchParams({
      access_token: handOut, token_type: "Bearer", expires_in: "900", state: u.searchParams.get("state") });
    route.fulfill({ status: 302, headers: { Location: back } });
  });
  const bearer = [];
  page.on("request", (r) => {
    if (r.url().startsWith(BASE + "/api/")) bearer.push(r.headers()["authorization"] || null);
  });

  // --- A token the API accepts; the tenant comes from the token's claim.
  await page.goto(BASE + "/");
  check(await page.isVisible("#signin-oauth"), "OAuth2: the button appears when config.js names a provider");
  await Promise.all([page.waitForURL(BASE + "/**"), page.click("#signin-oauth")]);
  await page.waitForSelector("#hooks:not([hidden])");
  await page.waitForSelector("#empty:not([hidden]), #hook-rows tr");
  const q = authorizeQuery || {};
  eq([q.response_type, q.client_id, q.redirect_uri, q.scope, q.audience],
     ["token", "hookspool-ui", BASE + "/", "Webhook.Read Webhook.Write", AUD],
     "OAuth2: the authorization request names the implicit flow, client, redirect, scopes and audience");
  check(/^[0-9a-f]{32}$/.test(q.state || ""), "OAuth2: a random state is sent", q.state);
  eq(new URL(page.url()).hash, "", "OAuth2: the token is removed from the address bar");
  eq(await page.textContent("#tenant-name"), TENANT, "OAuth2: the tenant is taken from the token's claim");
  eq(await page.evaluate(() => [sessionStorage.getItem("hookspool.token"), localStorage.length]), [GOOD, 0],
     "OAuth2: the token is kept in sessionStorage only");
  check(bearer.length > 0 && bearer.every((a) => a === "Bearer " + GOOD),
        "OAuth2: API requests carry the token as a Bearer credential", JSON.stringify(bearer));
  eq(await page.textContent("#session-who"), "Signed in (OAuth2)", "OAuth2: the header says how you signed in");
  // Create a webhook with the token, and see it over the API.
  await page.click("#new-hook");
  await page.fill("#f-description", "made with a bearer token");
  await page.fill("#f-endpoint", "https://oauth.example.com/in");
  await page.fill("#f-events", "*");
  await page.click("#edit-save");
  await page.waitForSelector('#hook-rows tr .desc:text("made with a bearer token")');
  const made = (await api("GET", "")).data.find((w) => w.description === "made with a bearer token");
  check(made && made.endpoint === "https://oauth.example.com/in", "OAuth2: a webhook created with the token is stored");
  await shot(page, "oauth-signed-in");
  if (made) await api("DELETE", "/" + made.id);
  await page.click("#sign-out");
  eq(await page.evaluate(() => sessionStorage.getItem("hookspool.token")), null, "OAuth2: Sign out forgets the token");

  // --- A token signed by someone else: 401, explained, forgotten.
  handOut = BAD;
  bearer.length = 0;
  await page.fill("#signin-tenant", TENANT);
  await Promise.all([page.waitForURL(BASE + "/**"), page.click("#signin-oauth")]);
  await page.waitForSelector("#alert:not([hidden])");
  check(bearer.length > 0 && bearer.every((a) => a === "Bearer " + BAD), "OAuth2: the second token is sent");
  const text = await page.textContent("#alert-text");
  check(/401/.test(text) && /sign in again/i.test(text), "OAuth2: a refused token (401) is explained", text);
  check(await page.isVisible("#signin"), "OAuth2: the sign-in form is offered again after a 401");
  eq(await page.evaluate(() => sessionStorage.getItem("hookspool.token")), null, "OAuth2: the refused token is forgotten");
  await shot(page, "oauth-refused");
  eq(pageErrors, [], "OAuth2: no script errors");
  await page.close();
}

async function forgedOAuthAnswer() {
  const page = await browser.newPage();
  page.setDefaultTimeout(10000);
  let apiCalls = 0;
  page.on("request", (r) => { if (r.url().startsWith(BASE + "/api/")) apiCalls++; });
  await page.goto(BASE + "/#access_token=forged&token_type=Bearer&state=not-ours");
  await page.waitForSelector("#alert:not([hidden])");
  check(/did not match/.test(await page.textContent("#alert-text")), "OAuth2: an answer with an unknown state is refused");
  eq(await page.evaluate(() => sessionStorage.getItem("hookspool.token")), null, "OAuth2: the forged token is not kept");
  eq(new URL(page.url()).hash, "", "OAuth2: the forged fragment is removed from the address bar");
  eq(apiCalls, 0, "OAuth2: the forged token is never sent");
  await page.close();
}

// The page's validation says what the server says, in the same words, for a
// corpus of endpoints and event lists; the one rule it leaves to the server
// (literal private/loopback/link-local hosts) is the only difference allowed.
async function validationParity() {
  const page = await browser.newPage();
  page.setDefaultTimeout(10000);
  await page.goto(BASE + "/");
  const serverOnly = "The endpoint must not point to a private, loopback or link-local address.";
  const endpoints = [
    "", "https://example.com/", "HTTPS://EXAMPLE.COM/x", "http://example.com/", "ftp://example.com/",
    "example.com", "//example.com/", "https://", "https:///path", "https://user:pw@example.com/",
    "https://user@/", "https://exa mple.com/", "https://example.com/a\tb", "https://example.com/#frag",
    "https://example.com:0/", "https://example.com:65536/", "https://example.com:443/",
    "https://example.com:/", "https://example.com:123456/", "https://example.com:8x/", "https://[::1/",
    "https://[2001:db8::1]x/", "https://[2606:4700::1]:8443/", "https://[zz::1]/", "https://exa$mple.com/",
    "https://example.com?x=1", "https://example.com/" + "a".repeat(2028), "https://example.com/" + "a".repeat(2029),
    "https://example.com/\u00e9t\u00e9", "https://ex\u00e9mple.com/", "https://my_host.example/",
    "https://10.0.0.1/", "https://localhost/", "https://[::1]/", "https://0x7f.1/", "https://[::ffff:10.0.0.1]/",
    "https://169.254.169.254/latest", "https://8.8.8.8/",
  ];
  // With config.js's allowHttpEndpoints null (the default) the scheme is the server's call too.
  const schemeRules = ["The endpoint must be an https:// URL.", "The endpoint must be an absolute https:// URL."];
  const mismatches = [];
  let privateCases = 0, schemeCases = 0;
  for (const ep of endpoints) {
    const client = await page.evaluate((u) => window.hookspoolValidation.validateEndpoint(u), ep);
    const r = await api("POST", "", { events: ["*"], endpoint: ep });
    let server = null;
    if (r.status === 200) await api("DELETE", "/" + r.data.id);
    else server = ((r.data && r.data.errors && r.data.errors.endpoint) || ["status " + r.status])[0];
    if (client === null && server === serverOnly) { privateCases++; continue; }
    if (client === null && schemeRules.includes(server)) { schemeCases++; continue; }
    if (client !== server) mismatches.push({ endpoint: ep.slice(0, 60), client, server });
  }
  eq(mismatches, [], "the page's endpoint checks agree with the server's, word for word");
  check(privateCases === 6, "the private-address rule is left to the server", privateCases);
  check(schemeCases === 4, "and the scheme rule, on the four endpoints that are not https://", schemeCases);

  const eventLists = [
    [], ["*"], ["Pass:Created", "Customer:*", "store.*.updated"], ["Pass Created"], ["a".repeat(128)],
    ["a".repeat(129)], ["ok", "b@d", "also ok", "x"], Array.from({ length: 50 }, (_, i) => "e" + i),
    Array.from({ length: 51 }, (_, i) => "e" + i), ["Az09._:*-"], ["\u00e9v\u00e9nement"],
  ];
  const evMismatches = [];
  for (const events of eventLists) {
    const client = await page.evaluate((e) => window.hookspoolValidation.validateEvents(e), events);
    const r = await api("POST", "", { events, endpoint: "https://example.com/" });
    let server = [];
    if (r.status === 200) await api("DELETE", "/" + r.data.id);
    else server = (r.data && r.data.errors && r.data.errors.events) || ["status " + r.status];
    if (JSON.stringify(client) !== JSON.stringify(server)) evMismatches.push({ events: events.slice(0, 4), client, server });
  }
  eq(evMismatches, [], "the page's event checks agree with the server's, word for word");

  const descMismatches = [];
  for (const d of ["", "x".repeat(1024), "x".repeat(1025), "\u00e9".repeat(1024), "\u00e9".repeat(1025),
                   "\u{1F600}".repeat(1024), "\u{1F600}".repeat(1025)]) {
    const client = await page.evaluate((x) => window.hookspoolValidation.validateDescription(x), d);
    const r = await api("POST", "", { events: ["*"], endpoint: "https://example.com/", description: d });
    let server = null;
    if (r.status === 200) await api("DELETE", "/" + r.data.id);
    else server = ((r.data && r.data.errors && r.data.errors.description) || ["status " + r.status])[0];
    if (client !== server) descMismatches.push({ length: d.length, client, server });
  }
  eq(descMismatches, [], "the page's description check agrees with the server's (in characters, not bytes)");
  await page.close();
}

// Against a second server with allow_http_endpoints = yes (as ./run-local runs it):
// the page creates an http:// webhook and edits it, with no client-side refusal.
async function httpAllowedFlow() {
  const base = process.env.HOOKSPOOL_E2E_HTTP_BASE, key = process.env.HOOKSPOOL_E2E_HTTP_KEY;
  const tenant = process.env.HOOKSPOOL_E2E_HTTP_TENANT;
  const list = async () => (await (await fetch(base + "/api/" + tenant + "/webhooks",
                                                { headers: { "X-API-KEY": key } })).json());
  const page = await browser.newPage();
  page.setDefaultTimeout(10000);
  await page.goto(base + "/");
  await page.fill("#signin-tenant", tenant);
  await page.fill("#signin-key", key);
  await page.click("#signin-apikey");
  await page.waitForSelector("#empty:not([hidden])");
  await page.click("#new-hook");
  await page.fill("#f-description", "local receiver");
  await page.fill("#f-endpoint", "http://hooks.example.com/in");
  await page.fill("#f-events", "Pass:*");
  await page.click("#edit-save");
  await page.waitForSelector("#hook-rows tr");
  const made = await list();
  eq(made.map((w) => w.endpoint), ["http://hooks.example.com/in"],
     "http allowed: the page creates an http:// webhook");
  const row = `#hook-rows tr[data-id="${made[0] && made[0].id}"]`;
  await page.click(row + ' button:has-text("Edit")');
  await page.fill("#f-description", "local receiver, renamed");
  await page.click("#edit-save");
  await page.waitForFunction((sel) => document.querySelector(sel + " .desc")?.textContent === "local receiver, renamed", row);
  eq((await list()).map((w) => [w.description, w.endpoint]), [["local receiver, renamed", "http://hooks.example.com/in"]],
     "http allowed: editing that webhook's description is saved");
  eq(await page.textContent("#f-endpoint-error"), "", "http allowed: no endpoint error was shown");
  await page.close();
}

// Delivery operations against a server with a real sender and a recording
// receiver on 127.0.0.1 (test_ui.py made the webhooks and the deliveries):
// the deliveries of a webhook, paging by the Link header, the status filter,
// one delivery's attempts and payload, redeliver, ping, rotate secret (checked
// on the wire), a webhook the sender disabled on 410 Gone, and a read-only key.
async function opsFlow() {
  const OPS = JSON.parse(process.env.HOOKSPOOL_E2E_OPS);
  const H = OPS.hooks;
  const opsApi = async (method, p, key) => {
    const res = await fetch(OPS.base + "/api/" + OPS.tenant + "/webhooks" + p,
                            { method, headers: { "X-API-KEY": key || OPS.key } });
    const text = await res.text();
    return { status: res.status, data: text ? JSON.parse(text) : null, link: res.headers.get("link") };
  };
  const received = async () => (await fetch(OPS.receiver + "/_log")).json();
  const hmacHex = (secret, body) => crypto.createHmac("sha256", secret).update(body, "utf8").digest("hex");
  const until = async (fn, ms = 20000) => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v || Date.now() > end) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const rowIds = (page) => page.locator("#delivery-rows tr").evaluateAll((rows) => rows.map((r) => r.dataset.id));
  const activeId = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);

  await browser.grantPermissions(["clipboard-read", "clipboard-write"], { origin: OPS.base });
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !/^Failed to load resource/.test(m.text())) pageErrors.push(m.text());
  });
  const okRow = `#hook-rows tr[data-id="${H.ok}"]`;
  const goneRow = `#hook-rows tr[data-id="${H.gone}"]`;
  // A fresh load of the page (the tab keeps its sessionStorage, so the sign-in).
  const load = async (hook) => {
    await page.goto("about:blank");
    await page.goto(OPS.base + "/" + (hook ? "#webhook=" + hook : ""));
    await page.waitForSelector(hook ? "#hook-view:not([hidden]) #delivery-rows tr" : "#hook-rows tr");
  };

  await page.goto(OPS.base + "/");
  await page.fill("#signin-tenant", OPS.tenant);
  await page.fill("#signin-key", OPS.key);
  await page.click("#signin-apikey");
  await page.waitForSelector("#hook-rows tr");
  eq(await page.locator("#hook-rows tr").count(), 3, "ops: the list shows the three webhooks");

  async function deliveries() {
    // --- The deliveries of a webhook, opened with the keyboard.
    await page.focus(okRow + ' button:has-text("Deliveries")');
    await page.keyboard.press("Enter");
    await page.waitForSelector("#hook-view:not([hidden])");
    await page.waitForSelector("#delivery-rows tr");
    check(await page.isHidden("#hooks"), "ops: the webhook view replaces the list");
    eq(new URL(page.url()).hash, "#webhook=" + H.ok, "ops: the address names the webhook");
    eq(await activeId(page), "hook-view-title", "ops: the focus moves to the webhook's heading");
    eq(await page.title(), "Webhook Orders to the CRM (" + H.ok + ") — hookspool", "ops: the window title names the webhook");
    eq(await page.textContent("#hook-view-title"), "Webhook Orders to the CRM (" + H.ok + ")", "ops: the heading names the webhook");
    const all = await opsApi("GET", "/" + H.ok + "/deliveries?limit=250");
    eq([all.status, all.data.length], [200, 25], "API: 25 deliveries of the webhook");
    const firstIds = await rowIds(page);
    eq(firstIds, all.data.slice(0, 20).map((d) => d.deliveryId), "ops: page 1 shows the 20 newest, newest first");
    eq(await page.locator("#delivery-rows tr .status").allTextContents(), all.data.slice(0, 20).map((d) => d.status),
       "ops: each row shows its status");
    eq(await page.locator("#delivery-rows tr .answer").allTextContents(),
       all.data.slice(0, 20).map((d) => "HTTP " + d.lastStatusCode), "ops: each row shows the last answer");
    eq(await page.locator("#delivery-rows time").first().getAttribute("datetime"), all.data[0].createdAt,
       "ops: each row shows when the delivery was created");
    eq([await page.isDisabled("#page-newer"), await page.isDisabled("#page-older")], [true, false],
       "ops: page 1 offers older deliveries only");
    eq(await page.textContent("#page-info"), "Page 1, newest first", "ops: the pager says where you are");

    // --- Paging: the page follows the API's Link header.
    const page1 = await opsApi("GET", "/" + H.ok + "/deliveries?limit=20");
    const m = /<([^>]*)>[^,]*;\s*rel="?next"?/.exec(page1.link || "");
    check(m, "API: a full page carries Link rel=next", page1.link);
    const want = m ? new URL(m[1], OPS.base + "/api/").href : "";
    const [older] = await Promise.all([
      page.waitForRequest((r) => r.url().includes("/deliveries?") && r.url().includes("cursor=")),
      page.click("#page-older"),
    ]);
    eq(older.url(), want, "ops: Older asks for the URL of the Link header");
    await page.waitForFunction(() => document.getElementById("page-info").textContent.startsWith("Page 2"));
    const secondIds = await rowIds(page);
    eq(secondIds, all.data.slice(20).map((d) => d.deliveryId), "ops: page 2 shows the 5 older ones");
    eq(new Set(firstIds.concat(secondIds)).size, 25, "ops: no delivery twice across the pages, none skipped");
    eq([await page.isDisabled("#page-newer"), await page.isDisabled("#page-older")], [false, true],
       "ops: the last page offers newer deliveries only");
    eq(await activeId(page), "page-info", "ops: the focus stays on the pager");
    await page.click("#page-newer");
    await page.waitForFunction(() => document.getElementById("page-info").textContent.startsWith("Page 1"));
    eq(await rowIds(page), firstIds, "ops: Newer comes back to page 1");

    // A Link that names another origin (a proxy's inner host) is not followed with
    // the credentials: the page asks its own origin for the same cursor.
    await page.route((u) => u.pathname.endsWith("/deliveries") && !u.searchParams.has("cursor"), async (route) => {
      const res = await route.fetch();
      const headers = Object.assign({}, res.headers());
      headers.link = (headers.link || "").replace(/<https?:\/\/[^/]+/, "<https://api.internal.example:8443");
      await route.fulfill({ response: res, headers });
    });
    await page.click("#deliveries-refresh");
    await page.waitForFunction(() => !document.getElementById("page-older").disabled);
    const outsideRequests = [];
    const spy = (r) => { if (!r.url().startsWith(OPS.base)) outsideRequests.push(r.url()); };
    page.on("request", spy);
    const [viaCursor] = await Promise.all([
      page.waitForRequest((r) => r.url().includes("cursor=")),
      page.click("#page-older"),
    ]);
    await page.waitForFunction(() => document.getElementById("page-info").textContent.startsWith("Page 2"));
    const cursorOf = (u) => { try { return new URL(u).searchParams.get("cursor"); } catch (e) { return null; } };
    check(viaCursor.url().startsWith(OPS.base + "/api/") && cursorOf(viaCursor.url()) === cursorOf(want) && cursorOf(want),
          "ops: a Link to another origin: the same cursor is asked of this origin", viaCursor.url());
    eq(await rowIds(page), secondIds, "ops: and the same page 2 comes");
    eq(outsideRequests, [], "ops: nothing is sent to the other origin");
    page.off("request", spy);
    await page.unrouteAll();
    await page.click("#page-newer");
    await page.waitForFunction(() => document.getElementById("page-info").textContent.startsWith("Page 1"));

    // --- The status filter.
    const [failedReq] = await Promise.all([
      page.waitForRequest((r) => r.url().includes("status=failed")),
      page.selectOption("#status-filter", "failed"),
    ]);
    check(failedReq.url().includes("limit=20"), "ops: the filter asks the API for status=failed", failedReq.url());
    await page.waitForFunction(() => document.getElementById("page-info").textContent.includes("failed only"));
    eq(await rowIds(page), all.data.filter((d) => d.status === "failed").map((d) => d.deliveryId),
       "ops: the failed filter lists the two refused deliveries");
    eq(await page.locator("#delivery-rows tr .answer").allTextContents(), ["HTTP 500", "HTTP 500"],
       "ops: with the receiver's answer");
    check(await page.isHidden("#pager"), "ops: no pager for a single page");
    await page.selectOption("#status-filter", "pending");
    await page.waitForSelector("#deliveries-empty:not([hidden])");
    eq(await page.textContent("#deliveries-empty"), "No pending deliveries.", "ops: no pending delivery says so");
    await page.selectOption("#status-filter", "succeeded");
    await page.waitForFunction(() => document.getElementById("page-info").textContent.includes("succeeded only"));
    eq((await rowIds(page)).length, 20, "ops: the succeeded filter lists them");
    await page.selectOption("#status-filter", "");
    await page.waitForFunction(() => document.getElementById("page-info").textContent === "Page 1, newest first");
    await accessible(page, "the deliveries of a webhook");
    await shot(page, "deliveries-desktop", false);

    // --- One delivery: its attempts and its payload.
    const cancelled = all.data.find((d) => d.eventType === "Order:Cancelled");
    const cRow = `#delivery-rows tr[data-id="${cancelled.deliveryId}"]`;
    await page.focus(cRow + ' button[data-action="details"]');
    await page.keyboard.press("Enter");
    await page.waitForSelector("#delivery-dialog[open]");
    const one = (await opsApi("GET", "/" + H.ok + "/deliveries/" + cancelled.deliveryId)).data;
    eq(await page.textContent("#delivery-summary .id-full"), cancelled.deliveryId, "ops: the dialog shows the delivery id");
    eq(await page.locator("#attempt-rows tr").count(), one.attempts.length, "ops: the dialog lists each attempt");
    eq(await page.locator("#attempt-rows tr .answer").allTextContents(), one.attempts.map(() => "HTTP 200"),
       "ops: each attempt shows its answer");
    const shownPayload = await page.textContent("#payload");
    eq(JSON.parse(shownPayload), one.payload, "ops: the payload is shown as the API keeps it");
    const arrived = (await received()).filter((r) => r.headers["x-neostore-delivery"] === cancelled.deliveryId);
    check(arrived.length === 1 && JSON.stringify(JSON.parse(arrived[0].body)) === JSON.stringify(one.payload),
          "ops: the payload shown is what the receiver got", arrived.length);
    check(shownPayload.includes("<b>not markup</b>") && (await page.locator("#payload b").count()) === 0,
          "ops: markup in a payload is shown as text");
    check(await page.evaluate(() => document.getElementById("delivery-dialog").contains(document.activeElement)),
          "ops: the focus is in the delivery dialog");
    await accessible(page, "a delivery's details");
    await shot(page, "delivery-dialog", false);

    // --- Redeliver: same delivery id, same bytes, the attempt number goes on.
    const [redo] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/redeliver")),
      page.click("#delivery-redeliver"),
    ]);
    const redoBody = await redo.json();
    eq([redo.status(), redoBody.deliveryId, redoBody.status], [202, cancelled.deliveryId, "pending"],
       "ops: Redeliver asks the API, which answers 202 with the delivery pending");
    await page.waitForFunction(() => /succeeded/.test(document.getElementById("notice").textContent));
    check((await page.textContent("#notice")).includes(cancelled.deliveryId.slice(0, 8)), "ops: the outcome is announced");
    const twice = await until(async () => {
      const got = (await received()).filter((r) => r.headers["x-neostore-delivery"] === cancelled.deliveryId);
      return got.length >= 2 ? got : null;
    });
    check(twice && twice[1].body === twice[0].body && twice[1].headers["x-neostore-attempt"] === "2",
          "ops: the receiver gets the same body again, as attempt 2", twice && twice.map((r) => r.headers["x-neostore-attempt"]));
    await page.waitForFunction(() => document.querySelectorAll("#attempt-rows tr").length === 2);
    check(true, "ops: the open dialog shows the second attempt");
    await page.keyboard.press("Escape");
    check(!(await page.evaluate(() => document.getElementById("delivery-dialog").open)), "ops: Escape closes the delivery dialog");
    const focusBack = () => page.evaluate(() => [document.activeElement.closest("tr")?.dataset.id,
                                                  document.activeElement.getAttribute("data-action")]);
    await until(async () => (await focusBack())[1] === "details", 3000);
    eq(await focusBack(), [cancelled.deliveryId, "details"], "ops: the focus returns to the row's Details button");

    // --- Ping.
    const [pinged] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/ping")),
      page.click("#ping"),
    ]);
    const pingBody = await pinged.json();
    eq([pinged.status(), pingBody.eventType, pingBody.status], [202, "Webhook:Ping", "pending"], "ops: Ping answers 202 with a pending delivery");
    await page.waitForFunction((id) => document.querySelector("#delivery-rows tr")?.dataset.id === id, pingBody.deliveryId);
    check(true, "ops: the ping is listed first");
    await page.waitForFunction((id) => document.querySelector(`#delivery-rows tr[data-id="${id}"] .status`)?.textContent === "succeeded",
                               pingBody.deliveryId);
    check(true, "ops: its row turns succeeded without a reload");
    const pingGot = (await received()).find((r) => r.headers["x-neostore-delivery"] === pingBody.deliveryId);
    check(pingGot && JSON.parse(pingGot.body).eventType === "Webhook:Ping" && JSON.parse(pingGot.body).data.webhookId === H.ok,
          "ops: the receiver got the Webhook:Ping event", pingGot && pingGot.body);
  }

  async function rotation() {
    await load(H.ok);
    // --- Rotate secret: Escape cancels; then a rotation with a 1 hour overlap.
    const oldSecret = (await opsApi("GET", "/" + H.ok)).data.signatureSecret;
    await page.click("#rotate");
    check(await page.evaluate(() => document.getElementById("rotate-dialog").open), "ops: Rotate secret asks first");
    eq(await activeId(page), "rotate-overlap", "ops: the focus is on the overlap choice");
    eq(await page.inputValue("#rotate-overlap"), "86400", "ops: the overlap defaults to 24 hours");
    await page.keyboard.press("Escape");
    eq((await opsApi("GET", "/" + H.ok)).data.signatureSecret, oldSecret, "API: Escape rotated nothing");
    await page.click("#rotate");
    await page.selectOption("#rotate-overlap", "3600");
    const [rotated] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/rotate-secret")),
      page.click("#rotate-confirm"),
    ]);
    const rot = await rotated.json();
    eq([rotated.status(), rotated.request().postDataJSON()], [200, { overlapSeconds: 3600 }],
       "ops: the rotation asks the API with the chosen overlap");
    const newSecret = (await opsApi("GET", "/" + H.ok)).data.signatureSecret;
    check(newSecret !== oldSecret && /^[A-Za-z0-9]{64}$/.test(newSecret), "API: the webhook has a new secret");
    await page.waitForSelector("#rotate-done:not([hidden])");
    eq(await page.textContent("#rotate-secret"), newSecret, "ops: the dialog shows the new secret");
    const expires = Date.parse(rot.previousSecretExpiresAt);
    check(Math.abs(expires - (Date.now() + 3600 * 1000)) < 120000, "API: previousSecretExpiresAt is an hour ahead",
          rot.previousSecretExpiresAt);
    eq(await page.getAttribute("#rotate-until time", "datetime"), rot.previousSecretExpiresAt,
       "ops: the dialog says until when the old secret signs");
    check(/old secret still signs too, until .* \(in (60 minutes|1 hour)\)/.test(await page.textContent("#rotate-until")),
          "ops: and how long that is", await page.textContent("#rotate-until"));
    check(!(await page.textContent("body")).includes(oldSecret), "ops: the old secret is not shown");
    await accessible(page, "the rotate dialog with the new secret");
    await shot(page, "rotate-dialog", false);
    await page.click("#rotate-copy");
    eq(await page.evaluate(() => navigator.clipboard.readText()), newSecret, "ops: Copy puts the new secret on the clipboard");
    await page.click("#rotate-close");
    check(!(await page.textContent("body")).includes(newSecret) &&
          !(await page.evaluate(() => document.documentElement.outerHTML)).includes(newSecret),
          "ops: the new secret leaves the page when the dialog closes");
    await until(async () => (await activeId(page)) === "rotate", 3000);
    eq(await activeId(page), "rotate", "ops: the focus returns to Rotate secret");
    eq(await page.getAttribute("#rotation-state time", "datetime"), rot.previousSecretExpiresAt,
       "ops: the view says the previous secret still signs, and until when");
    const kept = await page.evaluate(() => JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage), document.cookie]));
    check(!kept.includes(newSecret) && !kept.includes(oldSecret), "ops: no secret is kept in the browser's storage");

    // On the wire: the secret the page showed signs the next delivery, the old one too.
    const [pinged2] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/ping")), page.click("#ping")]);
    const ping2 = await pinged2.json();
    const ping2Got = await until(async () => (await received()).find((r) => r.headers["x-neostore-delivery"] === ping2.deliveryId));
    check(ping2Got && ping2Got.headers["x-neostore-signature"] === hmacHex(newSecret, ping2Got.body),
          "ops: the secret the page showed signs the next delivery (X-NEOSTORE-SIGNATURE)");
    check(ping2Got && ping2Got.headers["x-neostore-signature-previous"] === hmacHex(oldSecret, ping2Got.body),
          "ops: the old secret signs it too during the overlap (X-NEOSTORE-SIGNATURE-PREVIOUS)");

    // A rotation with no overlap says the old secret stops at once.
    await page.click("#rotate");
    await page.selectOption("#rotate-overlap", "0");
    const [rotated0] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/rotate-secret")), page.click("#rotate-confirm")]);
    eq((await rotated0.json()).previousSecretExpiresAt, null, "API: no overlap, no previousSecretExpiresAt");
    await page.waitForSelector("#rotate-done:not([hidden])");
    eq(await page.textContent("#rotate-until"), "The old secret no longer signs: only the new one does.",
       "ops: with no overlap the dialog says the old secret stopped");
    await page.keyboard.press("Escape");
    check(await page.isHidden("#rotation-state"), "ops: and the view no longer mentions a previous secret");
  }

  async function phone() {
    await load(H.ok);
    // --- Phone width.
    await page.setViewportSize({ width: 375, height: 800 });
    const sw = await page.evaluate(() => document.documentElement.scrollWidth);
    check(sw <= 375, "ops: no horizontal scrolling in the deliveries at 375px", "scrollWidth " + sw);
    check(await page.isVisible('#delivery-rows tr:first-child button[data-action="redeliver"]'), "ops: row actions reachable at phone width");
    await accessible(page, "the deliveries at phone width");
    await shot(page, "deliveries-phone");
    await page.click('#delivery-rows tr:first-child button[data-action="details"]');
    await page.waitForSelector("#delivery-dialog[open]");
    const box = await page.locator("#delivery-dialog").boundingBox();
    const dsw = await page.evaluate(() => document.getElementById("delivery-dialog").scrollWidth <= document.getElementById("delivery-dialog").clientWidth);
    check(box && box.x >= 0 && box.x + box.width <= 375 && dsw, "ops: the delivery dialog fits a phone screen", JSON.stringify(box));
    await page.keyboard.press("Escape");
    await page.click("#rotate");
    const rbox = await page.locator("#rotate-dialog").boundingBox();
    check(rbox && rbox.x >= 0 && rbox.x + rbox.width <= 375, "ops: the rotate dialog fits a phone screen", JSON.stringify(rbox));
    await page.keyboard.press("Escape");
    await page.setViewportSize({ width: 1280, height: 800 });
  }

  async function failing() {
    // --- A failing webhook, reached by its address after a reload.
    await page.goto(OPS.base + "/#webhook=" + H.fail);
    await page.reload();
    await page.waitForSelector("#hook-view:not([hidden]) #delivery-rows tr");
    eq(await page.textContent("#hook-view-title"), "Webhook Invoices to a broken ERP (" + H.fail + ")",
       "ops: a reload on the webhook's address shows that webhook");
    await page.selectOption("#status-filter", "failed");
    await page.waitForFunction(() => document.getElementById("page-info").textContent.includes("failed only"));
    eq(await page.locator("#delivery-rows tr .status").allTextContents(), ["failed", "failed"], "ops: the failed filter lists the two failures");
    eq(await page.locator("#delivery-rows tr .answer").allTextContents(), ["HTTP 500", "HTTP 500"],
       "ops: the failing webhook's rows show the receiver's answer");
    const failedOne = (await opsApi("GET", "/" + H.fail + "/deliveries?status=failed")).data[0];
    const failedFull = (await opsApi("GET", "/" + H.fail + "/deliveries/" + failedOne.deliveryId)).data;
    await page.click(`#delivery-rows tr[data-id="${failedOne.deliveryId}"] button[data-action="details"]`);
    await page.waitForSelector("#delivery-dialog[open]");
    eq(await page.locator("#attempt-rows tr .answer").allTextContents(), failedFull.attempts.map(() => "HTTP 500"),
       "ops: every attempt of a failed delivery is listed with its answer");
    check(failedFull.attempts.length === 3, "API: a failed delivery had the full schedule (3 attempts)", failedFull.attempts.length);
    await page.keyboard.press("Escape");
    // Disabled elsewhere while the page still offers Redeliver: the API's 409 is
    // shown, and the page catches up (a plain note: not the sender's doing).
    const patch = (enabled) => fetch(OPS.base + "/api/" + OPS.tenant + "/webhooks/" + H.fail, {
      method: "PATCH", headers: { "X-API-KEY": OPS.key, "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ enabled }) });
    eq((await patch(false)).status, 200, "API: the failing webhook disabled behind the page's back");
    const [conflict] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/redeliver")),
      page.click(`#delivery-rows tr[data-id="${failedOne.deliveryId}"] button[data-action="redeliver"]`),
    ]);
    eq(conflict.status(), 409, "API: redeliver on a disabled webhook is 409");
    await page.waitForSelector("#ops-error:not([hidden])");
    check(/disabled/i.test(await page.textContent("#ops-error")), "ops: the 409 is shown with the API's reason",
          await page.textContent("#ops-error"));
    await page.waitForSelector("#manually-disabled:not([hidden])");
    check(await page.isHidden("#sender-disabled") && await page.isDisabled("#ping"),
          "ops: the page reads the webhook again: disabled, not by the sender, ping off");
    eq((await patch(true)).status, 200, "API: enabled again");
    await page.click("#deliveries-refresh");
    await page.waitForSelector("#manually-disabled", { state: "hidden" });
    check(await page.isHidden("#ops-error") && !(await page.isDisabled("#ping")), "ops: Refresh shows it enabled again");
    await page.click("#back-to-list");
    await page.waitForSelector("#hooks:not([hidden]) #hook-rows tr");
    eq(new URL(page.url()).hash, "", "ops: All webhooks clears the address");
    eq(await page.title(), "hookspool — webhooks", "ops: and the window title");
    eq(await page.evaluate(() => document.activeElement.closest("tr")?.dataset.id), H.fail,
       "ops: the focus returns to the webhook's row");
  }

  async function disabledBySender() {
    await load(null);
    // --- The webhook the sender disabled is flagged in the list, with its reason.
    const gone = (await opsApi("GET", "/" + H.gone)).data;
    check(gone.enabled === false && typeof gone.disabledReason === "string" && gone.disabledReason !== "" &&
          typeof gone.disabledAt === "string", "API: the webhook answered 410 carries disabledReason and disabledAt",
          JSON.stringify(gone));
    eq(await page.textContent(goneRow + " .flag span"), "Disabled by the sender: " + gone.disabledReason,
       "ops: the list says the sender disabled it, and why");
    eq(await page.locator("#hook-rows .flag").count(), 1, "ops: only that webhook is flagged");
    await accessible(page, "the list with a webhook the sender disabled");

    // --- The webhook the sender disabled: why, the failures behind it, enable again.
    await page.click(goneRow + ' button:has-text("See failures")');
    await page.waitForSelector("#sender-disabled:not([hidden])");
    check((await page.textContent("#sender-disabled-text")).includes(gone.disabledReason), "ops: the notice gives the sender's reason",
          await page.textContent("#sender-disabled-text"));
    eq(await page.getAttribute("#sender-disabled-text time", "datetime"), gone.disabledAt, "ops: and since when");
    await page.waitForSelector("#failures li");
    const goneDeliveries = (await opsApi("GET", "/" + H.gone + "/deliveries")).data;
    eq(await page.locator("#failures li").evaluateAll((l) => l.map((x) => x.dataset.id)), goneDeliveries.map((d) => d.deliveryId),
       "ops: the notice lists the failed deliveries behind it");
    eq(await page.locator("#failures li .answer").first().textContent(), "HTTP 410", "ops: with the 410 answer");
    check(await page.isDisabled("#ping") && await page.isDisabled('#delivery-rows button[data-action="redeliver"]'),
          "ops: ping and redeliver are off while it is disabled");
    check(/disabled webhook receives nothing/.test(await page.textContent("#ops-hint")), "ops: and the page says why");
    eq(await page.locator("#delivery-rows tr").evaluateAll((rows) => rows.filter((r) => r.querySelector(".held")).map((r) => r.dataset.id)),
       goneDeliveries.filter((d) => d.nextAttemptAt).map((d) => d.deliveryId),
       "ops: a next attempt of a disabled webhook's delivery is marked as not while disabled");
    eq((await opsApi("POST", "/" + H.gone + "/ping")).status, 409, "API: ping on the disabled webhook is 409");
    await accessible(page, "the view of a webhook the sender disabled");
    await shot(page, "sender-disabled", false);
    await page.click('#failures li button:has-text("Details")');
    await page.waitForSelector("#delivery-dialog[open]");
    eq(await page.locator("#attempt-rows tr .answer").first().textContent(), "HTTP 410", "ops: the failure's details open from the notice");
    await page.keyboard.press("Escape");
    await page.click("#enable-again");
    await page.waitForSelector("#sender-disabled", { state: "hidden" });
    const enabled = (await opsApi("GET", "/" + H.gone)).data;
    eq([enabled.enabled, "disabledReason" in enabled, "disabledAt" in enabled], [true, false, false],
       "API: Enable again enables it and the sender's reason is gone");
    check(!(await page.isDisabled("#ping")), "ops: ping is offered again");
    // The receiver still answers 410: a ping disables it again, and Refresh shows it.
    await page.click("#ping");
    check(await until(async () => (await opsApi("GET", "/" + H.gone)).data.enabled === false),
          "API: the ping answered 410 disables it again");
    await page.click("#deliveries-refresh");
    await page.waitForSelector("#sender-disabled:not([hidden])");
    check(true, "ops: Refresh shows the sender's notice again");
    await page.goBack();
    await page.waitForSelector("#hooks:not([hidden])");
    check(await page.isHidden("#hook-view"), "ops: the browser's Back returns to the list");
    check(await page.isVisible(goneRow + " .flag"), "ops: where the webhook is flagged again");
  }

  async function readOnly() {
    await load(null);
    // --- A read-only key sees the deliveries; ping is refused (403) and explained.
    await page.click("#sign-out");
    await page.fill("#signin-tenant", OPS.tenant);
    await page.fill("#signin-key", OPS.readKey);
    await page.click("#signin-apikey");
    await page.click(okRow + ' button:has-text("Deliveries")');
    await page.waitForSelector("#delivery-rows tr");
    const countBefore = (await opsApi("GET", "/" + H.ok + "/deliveries?limit=250")).data.length;
    await page.click("#ping");
    await page.waitForSelector("#alert:not([hidden])");
    check(/403/.test(await page.textContent("#alert-text")), "ops: a read-only key's ping is refused (403) and explained",
          await page.textContent("#alert-text"));
    eq((await opsApi("GET", "/" + H.ok + "/deliveries?limit=250")).data.length, countBefore, "API: the refused ping made no delivery");
    await page.click("#sign-out");
  }

  for (const [name, steps] of [["deliveries", deliveries], ["rotation", rotation], ["phone", phone],
                                ["failing webhook", failing], ["disabled by the sender", disabledBySender],
                                ["read-only key", readOnly]]) {
    try {
      await steps();
    } catch (e) {
      check(false, "ops: the " + name + " steps ran to the end", e && e.stack || e);
    }
  }
  eq(pageErrors, [], "ops: no script errors or CSP violations");
  await page.close();
}
