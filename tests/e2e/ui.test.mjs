// End-to-end test of the management UI (www/) in Debian's headless Chromium,
// driven by playwright-core. Every UI step is checked against the API too.
//
//   node tests/e2e/ui.test.mjs BASE_URL API_KEY TENANT SCREENSHOT_DIR
//
// Prints one line per check, "ok - NAME" or "not ok - NAME: DETAIL", then
// "done N passed, N failed". tests/integration/test_ui.py runs it.
import { chromium } from "playwright-core";
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

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: true });
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
