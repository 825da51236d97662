// The console in Debian's Chromium (playwright-core, no browser download) against the running stack.
// Run by tests/dashboard/test_console.py, which starts the stack and does what this script asks for
// on stdout (`ACTION pass_check`: a check sent with `maskwatch simulate gate`), answering `OK` on
// stdin. Every wait is for a condition.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const BASE = required("CONSOLE_URL");
const SHOTS = required("SCREENSHOTS");
const ZONE = required("SITE_ZONE");
const WAIT_MS = 45_000;
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
const NEW_USER = "new.operator@example.org";
const WEBHOOK = "https://hooks.example.org/maskwatch";
// axe-core's rules for WCAG 2.0, 2.1 and 2.2 at levels A and AA; a page fails on a serious or critical finding.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
const AXE_FAILING = new Set(["serious", "critical"]);

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

// --- the harness: ask the server side for something and wait until it is done ---
const replies = [];
const harness = createInterface({ input: process.stdin });
harness.on("line", (line) => replies.shift()?.(line));
async function server(action) {
  const reply = new Promise((resolve) => replies.push(resolve));
  process.stdout.write(`ACTION ${action}\n`);
  assert.equal(await reply, "OK", `the harness did not do ${action}`);
}

function step(what) {
  process.stdout.write(`step: ${what}\n`);
}

mkdirSync(SHOTS, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});
const problems = [];

async function open(viewport, extra = {}) {
  const context = await browser.newContext({ viewport, locale: "en-US", ...extra });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Uncaught/i.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  return { context, page };
}

const inaccessible = [];

/** Runs axe-core on the page as it is now; what it finds is reported at the end, all pages together. */
async function accessible(page, name) {
  // Evaluated through the DevTools protocol, so the console's script-src 'self' does not block it.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
    AXE_TAGS,
  ).then((results) => results.violations);
  for (const violation of violations.filter((v) => AXE_FAILING.has(v.impact))) {
    const nodes = violation.nodes.map((node) =>
      [`      ${node.target.join(" ")}`, `        ${node.html.slice(0, 240)}`, ...node.failureSummary.split("\n").map((line) => `        ${line}`)].join("\n"),
    );
    inaccessible.push(`${name}: ${violation.id} (${violation.impact}) ${violation.help}\n${nodes.join("\n")}`);
  }
}

async function shot(page, name, { audit = true, fullPage = true } = {}) {
  await page.waitForLoadState("networkidle").catch(() => {}); // the event stream never idles
  await page.evaluate(() => document.fonts.ready);
  // The phone menu slides: wait until nothing is moving, so the picture shows where things end up.
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage });
  if (audit) await accessible(page, name);
}

async function signIn(page, email, password, heading = "Overview") {
  await page.goto(`${BASE}/`);
  await page.locator('input[type="email"]').fill(email);
  await page.locator('input[type="password"]').fill(password);
  await page.locator('button[type="submit"]').click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

/** A figure once it has loaded (it reads "…" until then). */
async function number(page, testId) {
  await page.waitForFunction(
    (id) => /^\d+$/.test(document.querySelector(`[data-testid="${id}"]`)?.textContent ?? ""),
    testId,
  );
  return Number(await page.getByTestId(testId).innerText());
}

async function risesAbove(page, testId, before) {
  await page.waitForFunction(
    ([id, n]) => Number(document.querySelector(`[data-testid="${id}"]`)?.textContent) > n,
    [testId, before],
    { timeout: WAIT_MS },
  );
}

/** Marks the document, so a later check can tell that the page was not reloaded in between. */
async function mark(page) {
  await page.evaluate(() => {
    window.__notReloaded = true;
  });
}
async function notReloaded(page) {
  assert.equal(await page.evaluate(() => window.__notReloaded === true), true, "the page was reloaded");
}

async function go(page, linkName, heading) {
  // The link's name, maybe followed by its badge's count ("Alerts 2"), but not a longer name ("알림 설정").
  const name = new RegExp(`^${linkName}(\\s*\\d+)?$`);
  await page.getByRole("navigation").getByRole("link", { name }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

function timeIn(zone, iso) {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(new Date(iso));
}

try {
  // ---------------- the API's own documentation, served without the internet ----------------
  step("/docs renders the API's operations");
  // Not open(): the pages' policy refusing ReDoc's logo from the internet logs a console error by design.
  const docsContext = await browser.newContext({ viewport: DESKTOP, locale: "en-US" });
  docsContext.setDefaultTimeout(WAIT_MS);
  const docs = await docsContext.newPage();
  docs.on("pageerror", (error) => problems.push(`documentation page error: ${error.message}`));
  // Whatever the pages ask of another host, the browser must refuse under the pages' own policy.
  const outside = new Set();
  docs.on("request", (request) => {
    const url = request.url();
    if (/^https?:/.test(url) && !url.startsWith(`${BASE}/`)) outside.add(url);
  });
  docs.on("requestfailed", (request) => {
    if (/^(csp|net::ERR_BLOCKED_BY_CSP)$/.test(request.failure()?.errorText ?? "")) outside.delete(request.url());
  });
  await docs.goto(`${BASE}/docs`);
  await docs.locator(".swagger-ui .info .title").filter({ hasText: "Maskwatch admin API" }).waitFor();
  await docs.locator(".opblock").first().waitFor();
  assert.ok((await docs.locator(".opblock").count()) > 25, "/docs shows too few operations");
  assert.equal(await docs.getByText("Unable to render", { exact: false }).count(), 0, "/docs cannot render the spec");
  assert.equal(await docs.locator(".swagger-ui .errors-wrapper").count(), 0, "/docs shows errors");
  // Swagger UI's and ReDoc's own pages, not the console's; the first screenful is picture enough.
  await shot(docs, "docs", { audit: false, fullPage: false });
  step("/redoc renders the same operations");
  await docs.goto(`${BASE}/redoc`);
  await docs.getByRole("heading", { level: 1 }).filter({ hasText: "Maskwatch admin API" }).waitFor();
  await docs.locator('[data-section-id^="operation/"]').first().waitFor();
  await shot(docs, "redoc", { audit: false, fullPage: false });
  assert.deepEqual([...outside], [], "the documentation loaded something from another host");
  await docsContext.close();

  // ---------------- an admin, desktop, English ----------------
  step("sign-in page");
  const { context: adminContext, page } = await open(DESKTOP);
  await page.goto(`${BASE}/`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.equal(await page.getByTestId("sso").count(), 0, "single sign-on is offered though the API does not link it");
  await shot(page, "en-signin");

  step("a wrong password is refused");
  await page.locator('input[type="email"]').fill(process.env.ADMIN_EMAIL);
  await page.locator('input[type="password"]').fill("not the password");
  await page.locator('button[type="submit"]').click();
  await page.getByRole("alert").filter({ hasText: "Wrong email or password." }).waitFor();

  step("sign in");
  await signIn(page, process.env.ADMIN_EMAIL, process.env.ADMIN_PASSWORD);
  await page.getByTestId("signed-in-as").filter({ hasText: process.env.ADMIN_EMAIL }).waitFor();
  await page.locator('[data-live-state="live"]').waitFor();

  step("today's visitors rise after a check, without a reload");
  await page.getByTestId("visitors-default").waitFor();
  const visitors = await number(page, "visitors-default");
  await mark(page);
  await server("pass_check");
  await risesAbove(page, "visitors-default", visitors);
  const denied = await number(page, "denied-default");
  await server("deny_check");
  await risesAbove(page, "denied-default", denied);
  await page.getByTestId("denied-by-reason").filter({ hasText: "No mask" }).waitFor();
  await server("fever_check");
  await page.getByTestId("denied-by-reason").filter({ hasText: "Elevated temperature" }).waitFor();
  await notReloaded(page);
  await page.locator('[data-testid="hourly-chart"] .recharts-bar-rectangle').first().waitFor();
  // Last week's same weekday had nobody by this hour (a fresh database): the trend says so.
  await page.getByTestId("trend-default").filter({ hasText: "Nobody had come by this hour last" }).waitFor();
  await shot(page, "en-overview");

  step("the gate feed, in the site's time zone");
  await go(page, "Live gate feed", "Live gate feed");
  const rows = page.locator('[data-testid="feed"] tbody tr');
  await rows.filter({ hasText: "No mask" }).first().waitFor();
  await rows.filter({ hasText: "36.7 °C" }).first().waitFor();
  const first = rows.first().locator("time");
  assert.equal(await first.getAttribute("title"), ZONE);
  assert.equal(await first.innerText(), timeIn(ZONE, await first.getAttribute("datetime")));
  const feedRows = await rows.count();
  await mark(page);
  await server("pass_check");
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="feed"] tbody tr').length > n,
    feedRows,
  );
  await notReloaded(page);
  // The faces the gate saw: thumbnails the API serves to this admin, loaded (not broken images).
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[data-testid="face-thumbnail"]')].some((img) => img.complete && img.naturalWidth > 0),
  );
  await shot(page, "en-feed");

  step("an alert arrives live and is acknowledged");
  await go(page, "Alerts", "Alerts");
  await page.getByText("No open alerts.").waitFor();
  await mark(page);
  await server("alert");
  const card = page.locator('[data-testid="alerts-open"] [data-alert]').first();
  await card.waitFor();
  await page.getByTestId("nav-open-alerts").filter({ hasText: "1" }).waitFor();
  await notReloaded(page);
  await card.locator("img").evaluate((img) =>
    img.complete ? null : new Promise((resolve) => img.addEventListener("load", resolve, { once: true })),
  );
  await shot(page, "en-alerts-open");
  const alertId = await card.getAttribute("data-alert");
  await card.locator('[data-action="acknowledge"]').click();
  await page.getByText("No open alerts.").waitFor();
  await page.getByRole("tab", { name: "Acknowledged" }).click();
  const acknowledged = page.locator(`[data-testid="alerts-acknowledged"] [data-alert="${alertId}"]`);
  await acknowledged.waitFor();
  assert.equal(await acknowledged.locator('[data-action="acknowledge"]').count(), 0);
  assert.equal(await acknowledged.locator('[data-action="resolve"]').count(), 1);

  step("the alert's own page");
  await acknowledged.getByRole("link", { name: "Details" }).click();
  await page.getByTestId("alert-state").filter({ hasText: "Acknowledged" }).waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid="snapshot"]');
    return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0;
  });
  assert.equal(new URL(page.url()).pathname, `/alerts/${alertId}`);
  await page.getByText(`(by ${process.env.ADMIN_EMAIL})`, { exact: false }).waitFor(); // who, not a user id
  await shot(page, "en-alert-detail");
  step("a deep link opens the same page");
  await page.goto(`${BASE}/alerts/${alertId}`);
  await page.getByTestId("alert-state").waitFor();

  step("gates and cameras; the admin may open the gate");
  await page.goto(`${BASE}/devices`);
  await page.getByRole("heading", { level: 1, name: "Gates and cameras" }).waitFor();
  await page.locator('[data-camera="hall-1"]').filter({ hasText: "Offline" }).waitFor();
  const gate = page.locator('[data-gate="gate-a"]');
  await gate.waitFor();
  await shot(page, "en-devices");
  await gate.locator('[data-action="open"]').click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Reason").fill("Delivery at the main door");
  await dialog.getByRole("button", { name: "Open now" }).click();
  // No agent runs for this gate, so nothing confirms: the console says so rather than "opened".
  await dialog.locator('[data-open-result="unconfirmed"]').waitFor();
  await shot(page, "en-devices-open-sent");
  await dialog.getByRole("button", { name: "Close", exact: true }).last().click();

  step("the admin registers a camera, sees its password and Pi config once, then revokes it");
  await gate.locator("[data-liveness]").waitFor();
  const register = page.locator('form[aria-labelledby="register-title"]');
  await register.getByText("Camera", { exact: true }).click();
  await register.getByLabel("Device ID").fill("cam-e2e");
  await register.locator('[data-field="site"]').click();
  await page.getByRole("option", { name: "Default site" }).click();
  await register.locator('[data-action="register"]').click();
  const issued = page.getByTestId("device-credentials");
  await issued.waitFor();
  assert.ok((await issued.getByTestId("device-password").inputValue()).length >= 16, "no password shown");
  assert.match(await issued.getByTestId("device-config").inputValue(), /camera_id: cam-e2e/);
  const firstPassword = await issued.getByTestId("device-password").inputValue();
  await shot(page, "en-devices-credentials");
  await issued.getByRole("button", { name: "Done" }).click();
  await issued.waitFor({ state: "detached" });
  const managed = page.locator('[data-device="cam-e2e"]');
  await managed.locator('[data-credentials="active"]').waitFor();

  step("a new password for the camera is shown once, and is another one");
  await managed.getByRole("button", { name: "New password for cam-e2e" }).click();
  await issued.waitFor();
  const rotated = await issued.getByTestId("device-password").inputValue();
  assert.ok(rotated.length >= 16, "no new password shown");
  assert.notEqual(rotated, firstPassword, "the new password is the old one");
  assert.match(await issued.getByTestId("device-config").inputValue(), /camera_id: cam-e2e/);
  await shot(page, "en-devices-rotated");
  await issued.getByRole("button", { name: "Done" }).click();
  await issued.waitFor({ state: "detached" });
  await managed.locator('[data-credentials="active"]').waitFor();
  const shownAnywhere = (secret) =>
    page.evaluate(
      (value) =>
        document.body.innerText.includes(value) ||
        [...document.querySelectorAll("input, textarea")].some((field) => field.value.includes(value)),
      secret,
    );
  assert.equal(await shownAnywhere(rotated), false, "the new password is still on the page");
  const deviceAfter = await page.request.get(`${BASE}/api/v1/devices/cam-e2e`);
  assert.equal(deviceAfter.status(), 200);
  assert.equal((await deviceAfter.text()).includes(rotated), false, "the API shows the password again");

  step("the admin revokes the camera's account, then deletes the camera");
  await managed.locator('[data-action="revoke"]').click();
  await page.getByRole("dialog").locator('[data-action="confirm"]').click();
  await managed.locator('[data-credentials="revoked"]').waitFor();
  await managed.getByRole("button", { name: "Delete cam-e2e" }).click();
  const deleting = page.getByRole("dialog", { name: "Delete cam-e2e" });
  await deleting.getByText("The device and its broker account are removed.", { exact: false }).waitFor();
  await shot(page, "en-devices-delete");
  await deleting.locator('[data-action="confirm"]').click();
  await deleting.waitFor({ state: "detached" });
  await managed.waitFor({ state: "detached" });
  await page.reload();
  await page.getByTestId("managed-devices").locator('[data-device="hall-1"], [data-device="gate-a"]').first().waitFor();
  assert.equal(await managed.count(), 0, "the deleted camera is listed after a reload");
  assert.equal(await page.locator('[data-camera="cam-e2e"]').count(), 0, "the deleted camera is among the cameras");
  assert.equal((await page.request.get(`${BASE}/api/v1/devices/cam-e2e`)).status(), 404);

  step("settings: a stricter fever threshold, saved by the admin, denies the next warm check");
  await go(page, "Settings", "Settings");
  const siteRules = page.getByRole("form", { name: "Entry rules of site default" });
  await siteRules.getByTestId("effective-site-default").filter({ hasText: "fever at 37.5 °C" }).waitFor();
  await siteRules.getByLabel("Fever threshold").fill("37.2");
  await siteRules.getByRole("button", { name: "Save" }).click();
  await siteRules.getByText("Saved.", { exact: false }).waitFor();
  await siteRules.getByTestId("effective-site-default").filter({ hasText: "fever at 37.2 °C" }).waitFor();
  await shot(page, "en-settings");
  await server("warm_check_denied");

  step("settings: the main door gets its own rules, the waiting room a shorter unmasked time; both stay after a reload");
  const gateRules = page.locator('[data-gate-rules="gate-a"]');
  await gateRules.filter({ hasText: "Follows the site" }).filter({ hasText: "37.2 °C" }).waitFor();
  await gateRules.getByRole("button", { name: "Edit the entry rules of Main door" }).click();
  const gateDialog = page.getByRole("dialog", { name: "Entry rules of Main door" });
  const gateForm = gateDialog.getByRole("form", { name: "Entry rules of gate gate-a" });
  await gateForm.getByTestId("effective-gate-gate-a").filter({ hasText: "fever at 37.2 °C" }).waitFor();
  await gateForm.getByLabel("Fever threshold").fill("37.8");
  await gateForm.getByRole("combobox", { name: "Mask rule" }).click();
  await page.getByRole("option", { name: "Let in, record it" }).click();
  await shot(page, "en-settings-gate-rules");
  await gateForm.getByRole("button", { name: "Save" }).click();
  await gateDialog.waitFor({ state: "detached" });
  const ownRules = () =>
    gateRules.filter({ hasText: "Own exceptions" }).filter({ hasText: "37.8 °C" }).filter({ hasText: "Let in, record it" });
  await ownRules().waitFor();
  const dwell = page.locator('[data-camera-dwell="hall-1"]');
  const dwellInput = dwell.getByLabel("Waiting room: alert after");
  await dwellInput.waitFor();
  const dwellBefore = await dwellInput.inputValue();
  const dwellAfter = dwellBefore === "45" ? "50" : "45";
  await dwellInput.fill(dwellAfter);
  await dwell.getByRole("button", { name: "Save" }).click();
  await dwell.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  await shot(page, "en-settings-saved");
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Settings" }).waitFor();
  await ownRules().waitFor();
  await page.waitForFunction(
    (value) => document.querySelector('[data-camera-dwell="hall-1"] input')?.value === value,
    dwellAfter,
  );
  await page.getByTestId("effective-site-default").filter({ hasText: "fever at 37.2 °C" }).waitFor();
  await gateRules.getByRole("button", { name: "Edit the entry rules of Main door" }).click();
  await page
    .getByRole("dialog", { name: "Entry rules of Main door" })
    .getByTestId("effective-gate-gate-a")
    .filter({ hasText: "fever at 37.8 °C · mask: Let in, record it" })
    .waitFor();
  assert.equal(await gateDialog.getByLabel("Fever threshold").inputValue(), "37.8");
  await gateDialog.getByRole("button", { name: "Close" }).click();
  await gateDialog.waitFor({ state: "detached" });
  await shot(page, "en-settings-reloaded");
  await go(page, "Gates and cameras", "Gates and cameras");

  step("users and roles: the admin adds an operator");
  await go(page, "Users and roles", "Users and roles");
  await page.locator(`[data-user="${process.env.VIEWER_EMAIL}"]`).waitFor();
  await page.locator('[data-action="add-user"]').click();
  const userDialog = page.getByRole("dialog", { name: "A new user" });
  await userDialog.getByLabel("Email").fill(NEW_USER);
  await userDialog.getByLabel(/^Password/).fill("a long enough password");
  await userDialog.getByRole("combobox", { name: "Role" }).click();
  await page.getByRole("option", { name: "Operator" }).click();
  await userDialog.getByRole("combobox", { name: "Sites" }).click();
  await page.getByRole("option", { name: "Default site" }).click();
  await userDialog.getByRole("heading").click(); // closes the list of sites
  await shot(page, "en-users-new");
  await userDialog.getByRole("button", { name: "Create the user" }).click();
  const newUser = page.locator(`[data-user="${NEW_USER}"]`);
  await newUser.filter({ hasText: "Operator" }).filter({ hasText: "Default site" }).waitFor();
  await shot(page, "en-users");
  await newUser.getByRole("button", { name: `Edit ${NEW_USER}` }).click();
  await page.getByRole("dialog", { name: `Change ${NEW_USER}` }).getByLabel("Disabled").check({ force: true });
  await page.getByRole("dialog", { name: `Change ${NEW_USER}` }).getByRole("button", { name: "Save" }).click();
  await newUser.filter({ hasText: "Disabled" }).waitFor();

  step("API tokens: a new token's secret is shown once");
  await go(page, "API tokens", "API tokens");
  await page.getByText("You have no API tokens.").waitFor();
  await page.getByLabel("Name").fill("grafana");
  await page.getByRole("button", { name: "Create a token" }).click();
  const secret = page.getByTestId("secret-value");
  await secret.waitFor();
  assert.match(await secret.inputValue(), /^mw_/, "the new token's secret is not shown");
  await page.locator('[data-token="grafana"]').waitFor();
  await shot(page, "en-tokens-secret");
  await page.getByRole("button", { name: "I have stored it" }).click();
  await secret.waitFor({ state: "detached" });
  await shot(page, "en-tokens");

  step("the audit log: filtered by action, in the site's or this browser's zone");
  await go(page, "Audit log", "Audit log");
  await page.locator('[data-audit="token.create"]').first().waitFor();
  await page.locator('[data-audit="user.create"]').first().waitFor();
  if (await page.evaluate((zone) => Intl.DateTimeFormat().resolvedOptions().timeZone !== zone, ZONE)) {
    // What happened at the site also reads in the site's own zone.
    const acknowledged = page.locator('[data-audit="alert.acknowledge"] [data-testid="site-time"]').first();
    assert.match(await acknowledged.innerText(), new RegExp(`\\(${ZONE}\\)$`));
  }
  await shot(page, "en-audit");
  await page.getByRole("combobox", { name: "Action" }).click();
  await page.getByRole("option", { name: "API token created" }).click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get("action") === "token.create");
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[data-testid="audit"] tbody tr')].every((r) => r.getAttribute("data-audit") === "token.create"),
  );
  await page.getByRole("button", { name: "Show everything" }).click();
  await page.waitForFunction(() => new URL(location.href).search === "");
  await page.getByRole("combobox", { name: "Site" }).click();
  await page.getByRole("option", { name: "Default site" }).click();
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid="audit"] tbody tr')];
    return new URL(location.href).searchParams.get("site") === "default" && rows.length > 0 &&
      rows.every((r) => r.getAttribute("data-site") === "default");
  });
  const today = await page.evaluate(() => {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  });
  await page.getByLabel("From").fill(today);
  await page.getByLabel("Until (included)").fill(today);
  await page.waitForFunction((day) => {
    const query = new URL(location.href).searchParams;
    return query.get("from") === day && query.get("to") === day &&
      document.querySelectorAll('[data-testid="audit"] tbody tr[data-site="default"]').length > 0;
  }, today);
  await shot(page, "en-audit-site");

  step("notifications: recipients of the site, a webhook's secret once, a dead delivery retried");
  await go(page, "Notifications", "Notifications");
  await page.locator('[data-testid="push-opt-in"], [data-testid="push-unavailable"]').first().waitFor();
  await page.getByText("Nobody hears of this site's alerts yet.").waitFor();
  await page.locator('[data-action="add-recipient"]').click();
  const recipientDialog = page.getByRole("dialog", { name: "A new recipient at Default site" });
  await recipientDialog.getByRole("combobox", { name: "Channel" }).waitFor();
  assert.equal(await recipientDialog.getByRole("combobox", { name: "Channel" }).inputValue(), "Webhook");
  await recipientDialog.getByLabel("Address").fill(WEBHOOK);
  await recipientDialog.getByLabel("Quiet hours from").fill("22:00");
  await recipientDialog.getByLabel("Quiet hours until").fill("07:00");
  await recipientDialog.getByLabel("Rate limit").fill("5/10min");
  await shot(page, "en-notifications-new-recipient");
  await recipientDialog.getByRole("button", { name: "Add a recipient" }).click();
  assert.match(await page.getByTestId("secret-value").inputValue(), /^whsec_/, "the webhook's secret is not shown");
  await page.locator(`[data-recipient="${WEBHOOK}"]`).filter({ hasText: "Quiet 22:00–07:00" }).waitFor();
  await shot(page, "en-notifications-webhook-secret");
  await page.getByRole("button", { name: "I have stored it" }).click();
  await page.getByTestId("no-dead-deliveries").waitFor();
  await server("dead_delivery");
  await page.reload();
  const dead = page.locator('[data-testid="dead-deliveries"] [data-delivery]');
  await dead.first().waitFor();
  await shot(page, "en-notifications");
  await dead.first().locator('[data-action="retry"]').click();
  await page.getByTestId("no-dead-deliveries").waitFor();
  await go(page, "Gates and cameras", "Gates and cameras");

  step("switch to Korean: remembered across a reload");
  await page.getByText("한국어", { exact: true }).first().click();
  await page.getByRole("heading", { level: 1, name: "게이트 및 카메라" }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem("maskwatch.language")), "ko");
  assert.equal(await page.evaluate(() => document.documentElement.lang), "ko");
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "게이트 및 카메라" }).waitFor();
  await shot(page, "ko-devices");
  await go(page, "개요", "개요");
  await page.getByTestId("denied-by-reason").filter({ hasText: "마스크 미착용" }).waitFor();
  await page.getByTestId("denied-by-reason").filter({ hasText: "체온 높음" }).waitFor();
  await shot(page, "ko-overview");
  await go(page, "실시간 출입 기록", "실시간 출입 기록");
  await page.locator('[data-testid="feed"] tbody tr').filter({ hasText: "거부" }).first().waitFor();
  await shot(page, "ko-feed");
  await go(page, "알림", "알림");
  await server("alert");
  await page.locator('[data-testid="alerts-open"] [data-alert]').first().waitFor();
  await shot(page, "ko-alerts-open");
  await page.goto(`${BASE}/alerts/${alertId}`);
  await page.getByTestId("alert-state").filter({ hasText: "확인됨" }).waitFor();
  await shot(page, "ko-alert-detail");

  await go(page, "설정", "설정");
  await page.getByTestId("effective-site-default").filter({ hasText: "발열 37.2 °C" }).waitFor();
  await shot(page, "ko-settings");

  step("the new pages in Korean");
  await go(page, "사용자 및 역할", "사용자 및 역할");
  await page.locator(`[data-user="${NEW_USER}"]`).filter({ hasText: "운영자" }).filter({ hasText: "사용 중지됨" }).waitFor();
  await shot(page, "ko-users");
  await go(page, "API 토큰", "API 토큰");
  await page.locator('[data-token="grafana"]').filter({ hasText: "폐기" }).waitFor();
  await shot(page, "ko-tokens");
  await go(page, "감사 로그", "감사 로그");
  await page.locator('[data-audit="token.create"]').filter({ hasText: "API 토큰 생성" }).first().waitFor();
  await shot(page, "ko-audit");
  await go(page, "알림 설정", "알림 설정");
  await page.locator(`[data-recipient="${WEBHOOK}"]`).filter({ hasText: "방해 금지 22:00–07:00" }).waitFor();
  await shot(page, "ko-notifications");

  step("sign out");
  await page.getByRole("button", { name: "로그아웃" }).click();
  await page.getByRole("heading", { name: "로그인" }).waitFor();
  await shot(page, "ko-signin");
  await adminContext.close();

  // ---------------- a viewer: reads everything, is offered no action ----------------
  step("a viewer sees no acknowledge, resolve or open");
  const { context: viewerContext, page: viewer } = await open(DESKTOP);
  await signIn(viewer, process.env.VIEWER_EMAIL, process.env.VIEWER_PASSWORD);
  await viewer.getByTestId("signed-in-as").filter({ hasText: "Viewer" }).waitFor();
  await go(viewer, "Alerts", "Alerts");
  await viewer.locator('[data-testid="alerts-open"] [data-alert]').first().waitFor();
  assert.equal(await viewer.locator("[data-action]").count(), 0, "a viewer is offered an alert action");
  await shot(viewer, "en-viewer-alerts");
  await viewer.goto(`${BASE}/alerts/${alertId}`);
  await viewer.getByTestId("alert-state").waitFor();
  assert.equal(await viewer.locator("[data-action]").count(), 0);
  await viewer.goto(`${BASE}/devices`);
  await viewer.locator('[data-gate="gate-a"]').waitFor();
  assert.equal(await viewer.locator('[data-action="open"]').count(), 0, "a viewer is offered to open a gate");
  assert.equal(await viewer.getByTestId("managed-devices").count(), 0, "a viewer is shown device accounts");
  await shot(viewer, "en-viewer-devices");
  step("a viewer who calls the gate's open endpoint anyway is refused");
  const viewerGate = await (await viewer.request.get(`${BASE}/api/v1/gates/gate-a`)).json();
  assert.equal(viewerGate._links.open, undefined, "the gate links opening to a viewer");
  const refused = await viewer.evaluate(async (href) => {
    const answer = await fetch(href, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ reason: "Opening it anyway" }),
    });
    return { status: answer.status, type: answer.headers.get("content-type"), body: await answer.text() };
  }, `${viewerGate._links.self.href}/open`);
  assert.equal(refused.status, 403, `a viewer's open answered ${refused.status}: ${refused.body}`);
  assert.equal(refused.type, "application/problem+json");
  await viewer.goto(`${BASE}/settings`);
  await viewer.getByTestId("effective-site-default").waitFor();
  await viewer.getByText("Only an administrator of this site can change these.").waitFor();
  assert.equal(await viewer.getByRole("button", { name: "Save" }).count(), 0, "a viewer is offered to save rules");
  await shot(viewer, "en-viewer-settings");
  step("a viewer has no users or audit log, and keeps their own tokens and alerts");
  const viewerNav = viewer.getByRole("navigation");
  await viewerNav.getByRole("link", { name: "API tokens" }).waitFor();
  assert.equal(await viewerNav.getByRole("link", { name: "Users and roles" }).count(), 0, "a viewer sees the users page");
  assert.equal(await viewerNav.getByRole("link", { name: "Audit log" }).count(), 0, "a viewer sees the audit log");
  await viewer.goto(`${BASE}/users`);
  await viewer.getByTestId("not-allowed").waitFor();
  assert.equal(await viewer.locator('[data-testid="users"]').count(), 0);
  await shot(viewer, "en-viewer-users");
  await viewer.goto(`${BASE}/notifications`);
  await viewer.locator('[data-testid="push-opt-in"], [data-testid="push-unavailable"]').first().waitFor();
  assert.equal(await viewer.locator('[data-action="add-recipient"]').count(), 0, "a viewer may add recipients");
  assert.equal(await viewer.locator('[data-testid="dead-deliveries"], [data-testid="no-dead-deliveries"]').count(), 0);
  await shot(viewer, "en-viewer-notifications");
  await viewerContext.close();

  // ---------------- a phone ----------------
  step("a phone-sized screen");
  const { context: phoneContext, page: phone } = await open(PHONE, {
    isMobile: true,
    hasTouch: true,
    deviceScaleFactor: 2,
  });
  await signIn(phone, process.env.ADMIN_EMAIL, process.env.ADMIN_PASSWORD);
  const overflows = () => phone.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert.equal(await overflows(), false, "the overview is wider than the phone");
  await shot(phone, "en-phone-overview");
  await phone.getByRole("button", { name: "Show or hide the menu" }).click();
  await phone.getByRole("navigation").getByRole("link", { name: "Alerts" }).waitFor();
  await shot(phone, "en-phone-menu");
  await phone.getByRole("navigation").getByRole("link", { name: "Alerts" }).click();
  await phone.getByRole("heading", { level: 1, name: "Alerts" }).waitFor();
  assert.equal(await overflows(), false, "the alerts are wider than the phone");
  await shot(phone, "en-phone-alerts");
  await phone.getByRole("button", { name: "Show or hide the menu" }).click();
  await phone.getByRole("navigation").getByText("한국어", { exact: true }).click();
  await phone.getByRole("navigation").getByRole("link", { name: "실시간 출입 기록" }).click();
  await phone.getByRole("heading", { level: 1, name: "실시간 출입 기록" }).waitFor();
  await shot(phone, "ko-phone-feed");
  await phone.goto(`${BASE}/`);
  await phone.getByRole("heading", { level: 1, name: "개요" }).waitFor();
  assert.equal(await overflows(), false, "the Korean overview is wider than the phone");
  await shot(phone, "ko-phone-overview");
  await phone.goto(`${BASE}/devices`);
  await phone.getByRole("heading", { level: 1, name: "게이트 및 카메라" }).waitFor();
  await phone.locator('[data-gate="gate-a"]').waitFor();
  await shot(phone, "ko-phone-devices");
  await phone.goto(`${BASE}/settings`);
  await phone.getByTestId("effective-site-default").filter({ hasText: "발열 37.2 °C" }).waitFor();
  assert.equal(await overflows(), false, "the Korean settings are wider than the phone");
  await shot(phone, "ko-phone-settings");
  step("installable: the manifest, its icons and the service worker are served as a phone needs them");
  const manifestHref = await phone.locator('link[rel="manifest"]').getAttribute("href");
  const manifest = await phone.request.get(`${BASE}${manifestHref}`);
  assert.match(manifest.headers()["content-type"], /^application\/manifest\+json/);
  const app = await manifest.json();
  assert.equal(app.display, "standalone");
  assert.equal(app.start_url, "/");
  for (const size of ["192x192", "512x512"]) {
    const icon = app.icons.find((i) => i.sizes === size && i.type === "image/png");
    assert.ok(icon, `no ${size} PNG icon in the manifest`);
    const png = await phone.request.get(`${BASE}${icon.src}`);
    assert.equal(png.headers()["content-type"], "image/png");
  }
  const worker = await phone.request.get(`${BASE}/sw.js`);
  assert.match(worker.headers()["content-type"], /javascript/);
  assert.match(worker.headers()["cache-control"], /no-cache/);
  assert.match(await worker.text(), /addEventListener\("notificationclick"/);
  for (const [path, heading, name] of [
    ["/users", "사용자 및 역할", "ko-phone-users"],
    ["/tokens", "API 토큰", "ko-phone-tokens"],
    ["/audit", "감사 로그", "ko-phone-audit"],
    ["/notifications", "알림 설정", "ko-phone-notifications"],
  ]) {
    await phone.goto(`${BASE}${path}`);
    await phone.getByRole("heading", { level: 1, name: heading }).waitFor();
    await phone.locator("table, [data-testid=push-opt-in], [data-testid=push-unavailable]").first().waitFor();
    assert.equal(await overflows(), false, `${path} is wider than the phone`);
    await shot(phone, name);
  }
  await phoneContext.close();

  assert.deepEqual(problems, [], "the pages logged errors");
  assert.equal(
    inaccessible.length,
    0,
    `axe-core found serious or critical WCAG 2 A/AA violations:\n${inaccessible.join("\n")}`,
  );
  step("done");
} finally {
  await browser.close();
  harness.close(); // else the open stdin keeps node running
}
