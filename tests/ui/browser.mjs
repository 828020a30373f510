// The web UI in a real browser: headless Chromium (Debian's) driven by playwright-core over
// CDP, against the one `wharf serve` tests/ui/run.sh started. Each scenario is one TAP line.
// Every page visited is checked with axe-core (no serious or critical violations) and for the
// tokens in use (never in a page, a URL or storage). Nothing is fetched from outside: the page
// assets are the server's own, and the suite talks only to the loopback server.
import { createRequire } from "node:module";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import http from "node:http";
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(path.join(root, ".ci/tools/package.json"));
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const BASE = process.env.WHARF_UI_URL;
const ADMIN = process.env.WHARF_UI_ADMIN;
const ADMIN_TOKEN = process.env.WHARF_UI_ADMIN_TOKEN;
const WHARF = process.env.WHARF_BIN;
const SHOTS = process.env.WHARF_UI_SCREENSHOTS || "";
const CHROMIUM = process.env.WHARF_CHROMIUM || "/usr/bin/chromium";
if (!BASE || !ADMIN || !ADMIN_TOKEN || !WHARF) {
  console.error("run through tests/ui/run.sh (WHARF_UI_URL, WHARF_UI_ADMIN, WHARF_UI_ADMIN_TOKEN, WHARF_BIN)");
  process.exit(2);
}
const secrets = [ADMIN_TOKEN];

// ---- the API and the CLI, for setting the scene ----

const basic = (user, token) => "Basic " + Buffer.from(`${user}:${token}`).toString("base64");

async function api(method, route, body, extra = {}) {
  const response = await fetch(BASE + route, {
    method,
    headers: { authorization: basic(ADMIN, ADMIN_TOKEN), ...(body && !extra.raw ? { "content-type": "application/json" } : {}), ...(extra.headers || {}) },
    body: body === undefined ? undefined : extra.raw ? body : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${route}: HTTP ${response.status} ${await response.text()}`);
  return response;
}

async function member(username, role) {
  await api("POST", "/wharf/v1/users", { username });
  await api("PUT", `/wharf/v1/projects/shop/members/${username}`, { role });
  const token = (await (await api("POST", "/wharf/v1/tokens", { username, name: "browser" })).json()).token;
  secrets.push(token);
  return token;
}

/** The real `wharf` binary as the admin, JSON out; the token goes in the environment. */
function wharf(args) {
  return new Promise((resolve, reject) => {
    const home = mkdtempSync(path.join(tmpdir(), "wharf-ui-cli-"));
    execFile(WHARF, [...args, "--output", "json"], {
      cwd: home,
      env: { PATH: process.env.PATH, HOME: home, WHARF_CONTROL_PLANE_URL: BASE, WHARF_USERNAME: ADMIN, WHARF_TOKEN: ADMIN_TOKEN },
    }, (error, stdout, stderr) => {
      rmSync(home, { recursive: true, force: true });
      if (error) reject(new Error(`wharf ${args[0]} failed: ${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

const register = (service, image, gitRef) =>
  wharf(["register", "--project", "shop", "--service", service, "--image", image, "--git-ref", gitRef]);

const sha256 = (bytes) => "sha256:" + createHash("sha256").update(bytes).digest("hex");

/** Pushes a one-layer image into the built-in registry under repository:tag. */
async function pushImage(repository, tag) {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const layer = Buffer.from(`layer of ${repository}:${tag}`);
  for (const blob of [config, layer]) {
    await api("POST", `/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, blob, { raw: true, headers: { "content-type": "application/octet-stream" } });
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length }],
  });
  await api("PUT", `/v2/${repository}/manifests/${tag}`, manifest, { raw: true, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
  return sha256(Buffer.from(manifest));
}

// ---- checks ----

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** axe-core in the page (evaluated over CDP, so the page's CSP stays in force). */
async function accessible(page, what) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help, target: v.nodes[0] && v.nodes[0].target }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert(bad.length === 0, `${what}: accessibility violations: ${JSON.stringify(bad)}`);
  return result;
}

/** No token in the page, its URL, or its storage. */
async function clean(page, what) {
  const html = await page.content();
  const url = page.url();
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  for (const secret of secrets) {
    assert(!html.includes(secret), `${what}: a token is in the page`);
    assert(!url.includes(secret), `${what}: a token is in the URL`);
    assert(!storage.includes(secret), `${what}: a token is in storage`);
  }
}

async function visit(page, route, what) {
  const response = await page.goto(BASE + route);
  assert(response.ok(), `${what}: HTTP ${response.status()}`);
  await clean(page, what);
  await accessible(page, what);
}

const cellOf = (page, service, stage) =>
  page.locator("table.flow tbody tr").filter({ has: page.locator(`th a:text-is("${service}")`) }).locator(`td.cell[data-stage="${stage}"]`);

// ---- the scenarios ----

const tests = [];
const test = (name, body) => tests.push({ name, body });

let browser, context, page;
const state = {};
/** Every confirmation a page asked for, accepted; the scenarios check what each named. */
const confirmations = [];
const acceptDialogs = (p) => p.on("dialog", (dialog) => {
  confirmations.push(dialog.message());
  dialog.accept();
});

async function signIn(p, username, token) {
  await p.goto(BASE + "/ui/login");
  await p.getByLabel("Username").fill(username);
  await p.getByLabel("Personal token").fill(token);
  await Promise.all([p.waitForURL(/\/ui\/projects$/), p.getByRole("button", { name: "Sign in" }).click()]);
}

test("the sign-in page is accessible and an anonymous visit is sent to it", async () => {
  await page.goto(BASE + "/ui/projects/shop");
  assert(new URL(page.url()).pathname === "/ui/login", `landed on ${page.url()}`);
  await clean(page, "sign-in page");
  await accessible(page, "sign-in page");
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.textContent);
  assert(focused === "Skip to content", `the first Tab reaches the skip link, not ${focused}`);
});

test("sign in with username and token", async () => {
  await signIn(page, ADMIN, ADMIN_TOKEN);
  assert((await page.locator(".who").textContent()).includes(ADMIN), "the header names the user");
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "wharf_session");
  assert(session && session.httpOnly && session.sameSite === "Strict", `session cookie: ${JSON.stringify({ ...session, value: "…" })}`);
  assert(!cookies.some((c) => secrets.some((s) => c.value.includes(s))), "no cookie holds the token");
  await clean(page, "projects");
  await accessible(page, "projects");
});

test("a build registered through the CLI appears in dev without a restart", async () => {
  await visit(page, "/ui/projects/shop", "flow (empty)");
  assert((await cellOf(page, "api", "dev").textContent()).includes("Nothing deployed"), "dev starts empty");
  const outcome = await register("api", "registry.example.com/shop/api:1.4.2", "main");
  state.built = outcome.artifactId;
  await register("web", "registry.example.com/shop/web:0.9.0", "main");
  await register("web", "registry.example.com/shop/web:0.9.1-rc", "feature/x");
  await page.reload();
  await cellOf(page, "api", "dev").getByText("1.4.2").waitFor();
  assert((await cellOf(page, "api", "dev").textContent()).includes("routed by rule shop-branches"), "the rule is named");
  assert((await page.locator("#unclassified + ul").textContent()).includes("0.9.1-rc"), "the unmatched build is listed apart");
  await accessible(page, "flow");
});

test("promote to staging from the page and see the flow change", async () => {
  const dev = cellOf(page, "api", "dev");
  await Promise.all([page.waitForURL(/done=promoted/), dev.getByRole("button", { name: "Promote to staging" }).click()]);
  await page.getByRole("status").getByText("Promoted.").waitFor();
  await cellOf(page, "api", "staging").getByText("1.4.2").waitFor();
  assert((await cellOf(page, "api", "staging").textContent()).includes("promoted"), "the staging cell says how it got there");
  await clean(page, "flow after promotion");
  await accessible(page, "flow after promotion");
});

test("attach an image by picking registry, repository and tag", async () => {
  const digest = await pushImage("shop/web", "2.0.0");
  await Promise.all([page.waitForURL(/\/attach\?/), cellOf(page, "web", "prod").getByRole("link", { name: "Attach image…" }).click()]);
  await accessible(page, "attach: registries");
  await Promise.all([page.waitForURL(/registry=default/), page.getByLabel("Registry", { exact: true }).selectOption("default")]);
  await Promise.all([page.waitForURL(/repository=shop%2Fweb|repository=shop\/web/), page.getByLabel("Repository", { exact: true }).selectOption("shop/web")]);
  await page.getByLabel("Tag", { exact: true }).selectOption("2.0.0");
  await clean(page, "attach: tags");
  await accessible(page, "attach: tags");
  await Promise.all([page.waitForURL(/done=attached/), page.getByRole("button", { name: "Attach", exact: true }).first().click()]);
  const prod = cellOf(page, "web", "prod");
  await prod.getByText("2.0.0").waitFor();
  assert((await prod.textContent()).includes(digest.slice(7, 19)), "the cell shows the short digest");
  assert((await prod.textContent()).includes("attached by hand"), "the cell says it was attached");
});

test("a promotion into a protected stage waits on its arrow until an approver approves it there", async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "wharf-ui-project-")), "wharf.toml");
  writeFileSync(file, readFileSync(path.join(root, "examples/shop/wharf.toml"), "utf8") +
    '\n[protection.prod]\napprovals = 1\napprovers = ["release-manager"]\ndirect = ["admin"]\n');
  await wharf(["apply", file]);
  const digest = "sha256:" + createHash("sha256").update("web 2.1.0").digest("hex");
  await wharf(["register", "--project", "shop", "--service", "web", "--image", `registry.example.com/shop/web@${digest}`, "--environment", "staging"]);
  await page.goto(BASE + "/ui/projects/shop");
  const staging = cellOf(page, "web", "staging");
  await Promise.all([page.waitForURL(/done=requested/), staging.getByRole("button", { name: "Request promotion to prod" }).click()]);
  const webRow = page.locator("table.flow tbody tr").filter({ has: page.locator('th a:text-is("web")') });
  const pending = webRow.locator("td.arrowcol").nth(1).locator(".pending");
  await pending.getByText("Waiting for approval").waitFor();
  assert(await pending.getByRole("button", { name: "Approve" }).isDisabled(), "the requester may not approve");
  assert((await pending.textContent()).includes("release-lead"), "the pending box names who may approve");
  await clean(page, "flow with a pending approval");
  await accessible(page, "flow with a pending approval");
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, "ui-flow.png"), fullPage: true });
  }
  const token = (await (await api("POST", "/wharf/v1/tokens", { username: "release-lead", name: "browser" })).json()).token;
  secrets.push(token);
  const lead = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  lead.on("page", acceptDialogs);
  const p = await lead.newPage();
  try {
    await signIn(p, "release-lead", token);
    await p.goto(BASE + "/ui/projects/shop");
    const row = p.locator("table.flow tbody tr").filter({ has: p.locator('th a:text-is("web")') });
    const box = row.locator("td.arrowcol").nth(1).locator(".pending");
    await Promise.all([p.waitForURL(/done=approved-completed/), box.getByRole("button", { name: "Approve" }).click()]);
    await cellOf(p, "web", "prod").getByText(digest.slice(7, 19)).waitFor();
    assert((await p.locator("td.arrowcol .pending").count()) === 0, "no request is pending any more");
    await clean(p, "flow after approval");
  } finally {
    await lead.close();
  }
});

test("a service's builds filter by environment and branch; a build shows its provenance and history", async () => {
  await visit(page, "/ui/projects/shop/services/api", "service");
  await Promise.all([page.waitForURL(/stage=staging/), page.getByLabel("Environment").selectOption("staging")]);
  assert((await page.locator("table.list tbody tr").count()) === 1, "one build in staging");
  await accessible(page, "service, filtered");
  await visit(page, `/ui/builds/${state.built}`, "build");
  const text = await page.locator("main").textContent();
  for (const part of ["Provenance", "Promotion history", "ARTIFACT_REGISTER", "main", "Promote to staging"]) {
    assert(text.includes(part), `the build page shows ${part}`);
  }
});

test("the audit trail filters and pages", async () => {
  await visit(page, "/ui/audit", "audit");
  const total = parseInt(await page.getByRole("status").textContent(), 10);
  assert(total > 25, `more than one page of entries (${total})`);
  assert((await page.locator("table.list tbody tr").count()) === 25, "25 entries a page");
  await Promise.all([page.waitForURL(/page=2/), page.getByRole("link", { name: "Older →" }).click()]);
  assert((await page.getByRole("status").textContent()).includes("page 2 of"), "the second page");
  await accessible(page, "audit, page 2");
  await page.getByLabel("Action (e.g. ARTIFACT_PROMOTE)").fill("ARTIFACT_PROMOTE");
  await Promise.all([page.waitForURL(/action=ARTIFACT_PROMOTE/), page.getByRole("button", { name: "Filter" }).click()]);
  assert((await page.locator("table.list tbody tr").count()) === 2, "two promotions in the trail: one promoted, one approved");
  assert(new URL(page.url()).searchParams.get("page") === null, "a new filter starts at the first page");
  await accessible(page, "audit, filtered");
});

test("a forged form post without the CSRF token is refused", async () => {
  const response = await page.request.post(BASE + "/ui/projects/shop/promote", { form: { service: "api", build: state.built } });
  assert(response.status() === 403, `HTTP ${response.status()}`);
  assert((await response.text()).includes("CSRF token is missing or wrong"), "the refusal says why");
  const fromPage = await page.evaluate(async (build) => {
    const r = await fetch("/ui/projects/shop/rollback", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `service=api&stage=staging&build=${build}` });
    return r.status;
  }, state.built);
  assert(fromPage === 403, `a script's post without the token: HTTP ${fromPage}`);
});

test("every disabled action says why, in the UI's words, and the approval box names the image", async () => {
  await visit(page, "/ui/projects/shop", "flow: reasons");
  const disabled = page.locator("button.action:disabled");
  const count = await disabled.count();
  assert(count > 0, "some action cannot be taken now");
  for (let i = 0; i < count; i++) {
    const button = disabled.nth(i);
    const describedBy = await button.getAttribute("aria-describedby");
    assert(describedBy, `disabled "${await button.textContent()}" names its reason`);
    const reason = (await page.locator(`[id="${describedBy}"]`).textContent()).trim();
    assert(reason.startsWith("Not now: ") && reason.length > 12, `a reason in words: ${reason}`);
    assert(!/--[a-z]/.test(reason), `no CLI flags in the UI's reasons: ${reason}`);
  }
  // dev's build was never preceded by another image of web: nothing to roll back to.
  const webDev = cellOf(page, "web", "dev");
  if (await webDev.getByRole("button", { name: "Roll back" }).count()) {
    assert(await webDev.getByRole("button", { name: "Roll back" }).isDisabled(), "no earlier image: no roll back");
  }
  // One primary action per cell, the others secondary.
  const cells = page.locator("td.cell");
  for (let i = 0; i < await cells.count(); i++) {
    assert(await cells.nth(i).locator("button.primary").count() <= 1, "at most one primary action per cell");
  }
});

test("protect, request, approve and roll back, without reaching an error page", async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "wharf-ui-project-")), "wharf.toml");
  writeFileSync(file, readFileSync(path.join(root, "examples/shop/wharf.toml"), "utf8") +
    '\n[protection.prod]\napprovals = 1\napprovers = ["release-manager"]\ndirect = ["admin"]\n');
  await wharf(["apply", file]);
  const first = "sha256:" + createHash("sha256").update("api 3.0.0").digest("hex");
  const second = "sha256:" + createHash("sha256").update("api 3.0.1").digest("hex");
  for (const [digest, run] of [[first, "walk-1"], [second, "walk-2"]]) {
    await wharf(["register", "--project", "shop", "--service", "api", "--image", `registry.example.com/shop/api@${digest}`, "--environment", "prod", "--external-id", run]);
  }
  const noError = async (p, what) => {
    assert(!(await p.locator("p.error[role=alert]").count()), `${what}: no error page`);
  };
  await page.goto(BASE + "/ui/projects/shop");
  const prod = cellOf(page, "api", "prod");
  await prod.getByText(second.slice(7, 19)).waitFor();
  const before = confirmations.length;
  await Promise.all([page.waitForURL(/done=requested/), prod.getByRole("button", { name: "Roll back" }).click()]);
  await noError(page, "roll back requested");
  const asked = confirmations.slice(before).join(" ");
  assert(asked.includes(`registry.example.com/shop/api@${first}`) && asked.includes("Roll back api in prod"),
    `the confirmation names the image it would deploy again: ${asked}`);
  const row = page.locator("table.flow tbody tr").filter({ has: page.locator('th a:text-is("api")') });
  const box = row.locator("td.arrowcol .pending").last();
  assert((await box.textContent()).includes(first.slice(7, 19)), "the approval box names the digest");
  const token = (await (await api("POST", "/wharf/v1/tokens", { username: "release-lead", name: "walk" })).json()).token;
  secrets.push(token);
  const lead = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  lead.on("page", acceptDialogs);
  const p = await lead.newPage();
  try {
    await signIn(p, "release-lead", token);
    await p.goto(BASE + "/ui/projects/shop");
    const leadRow = p.locator("table.flow tbody tr").filter({ has: p.locator('th a:text-is("api")') });
    await Promise.all([p.waitForURL(/done=approved-completed/), leadRow.locator("td.arrowcol .pending").last().getByRole("button", { name: "Approve" }).click()]);
    await noError(p, "approved");
    await cellOf(p, "api", "prod").getByText(first.slice(7, 19)).waitFor();
  } finally {
    await lead.close();
  }
});

test("an action's error page leads back to where the user was", async () => {
  await page.goto(BASE + "/ui/projects/shop");
  // A rejection without a reason (the browser would require one; sent by hand).
  const response = await page.request.post(BASE + "/ui/approvals/no-such-request/reject", {
    headers: { referer: BASE + "/ui/projects/shop", origin: BASE },
    form: { csrf: await page.locator("input[name=csrf]").first().inputValue(), reason: "x" },
  });
  assert(response.status() === 404, `a missing request: ${response.status()}`);
  const html = await response.text();
  assert(html.includes('href="/ui/projects/shop"') && html.includes("Back to where you were"), "the error page links back");
});

test("a viewer sees no enabled action buttons", async () => {
  const token = await member("vic", "viewer");
  const viewer = await browser.newContext();
  const p = await viewer.newPage();
  try {
    await signIn(p, "vic", token);
    await visit(p, "/ui/projects/shop", "flow as viewer");
    const enabled = await p.locator("button.action:enabled, a.action").count();
    const disabled = await p.locator("button.action:disabled").count();
    assert(enabled === 0 && disabled > 0, `enabled ${enabled}, disabled ${disabled}`);
    assert((await p.locator(".reason").first().textContent()).includes("ARTIFACTS_WRITE"), "the reason is shown");
    await visit(p, `/ui/builds/${state.built}`, "build as viewer");
    assert((await p.locator("button.action:enabled").count()) === 0, "no enabled action on the build page");
  } finally {
    await viewer.close();
  }
});

test("a narrow screen shows the flow without sideways scrolling", async () => {
  const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
  const p = await narrow.newPage();
  try {
    await signIn(p, ADMIN, ADMIN_TOKEN);
    await visit(p, "/ui/projects/shop", "flow, narrow");
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 1, `the page is ${overflow}px wider than the screen`);
    if (SHOTS) await p.screenshot({ path: path.join(SHOTS, "ui-flow-narrow.png"), fullPage: true });
  } finally {
    await narrow.close();
  }
});

test("the Images tab switches a service to manual, then attaches an image from the picker", async () => {
  const digest = await pushImage("shop/web", "3.0.0");
  await visit(page, "/ui/projects/shop/services/web/images", "images tab");
  assert((await page.locator("#strategy").textContent()) === "project", "web follows the project at first");
  await page.getByLabel("Strategy", { exact: true }).selectOption("manual");
  await Promise.all([page.waitForURL(/\/strategy$/), page.getByRole("button", { name: "Review the change" }).click()]);
  const changes = await page.locator("#changes").textContent();
  assert(changes.includes("strategy project → manual"), `the confirmation says what changes: ${changes}`);
  assert(changes.includes("stay where they are"), "and that placed builds stay");
  await clean(page, "strategy confirmation");
  await accessible(page, "strategy confirmation");
  await Promise.all([page.waitForURL(/done=strategy/), page.getByRole("button", { name: "Switch to manual" }).click()]);
  assert((await page.locator("#strategy").textContent()) === "manual", "the tab shows the new strategy");
  const dev = page.locator('#environments tr[data-environment="dev"]');
  await Promise.all([page.waitForURL(/\/attach\?service=web&stage=dev/), dev.getByRole("link", { name: "Attach" }).click()]);
  await Promise.all([page.waitForURL(/registry=default/), page.getByLabel("Registry", { exact: true }).selectOption("default")]);
  await Promise.all([page.waitForURL(/repository=shop%2Fweb|repository=shop\/web/), page.getByLabel("Repository", { exact: true }).selectOption("shop/web")]);
  await page.getByLabel("Tag", { exact: true }).selectOption("3.0.0");
  await Promise.all([page.waitForURL(/done=attached/), page.getByRole("button", { name: "Attach", exact: true }).first().click()]);
  await visit(page, "/ui/projects/shop/services/web/images", "images tab after attach");
  const attached = await page.locator('#environments tr[data-environment="dev"]').textContent();
  assert(attached.includes("shop/web:3.0.0"), `dev deploys the attached image: ${attached}`);
  assert(attached.includes(digest.slice(7, 19)) || attached.includes("3.0.0"), "with its tag or digest");
});

test("the Deliveries page lists a webhook's deliveries and redelivers one", async () => {
  const received = [];
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received.push(req.headers["webhook-id"]);
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  try {
    const port = receiver.address().port;
    const file = path.join(mkdtempSync(path.join(tmpdir(), "wharf-ui-hooks-")), "wharf.toml");
    writeFileSync(file, readFileSync(path.join(root, "examples/shop/wharf.toml"), "utf8") +
      `\n[[webhooks]]\nname = "argo"\nurl = "http://127.0.0.1:${port}/hook"\nevents = ["build.registered"]\nsecret_env = "WHARF_WEBHOOK_SECRET"\nallow_private_network = true\n`);
    await wharf(["apply", file]);
    await register("api", "registry.example.com/shop/api:9.0.0", "main");
    const deadline = Date.now() + 15000;
    while (received.length < 1) {
      assert(Date.now() < deadline, "the receiver got the event within 15 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await visit(page, "/ui/projects/shop/deliveries", "deliveries");
    const row = page.locator("#deliveries tbody tr").first();
    assert((await row.locator("td.status").textContent()) === "delivered", "the delivery is delivered");
    await Promise.all([page.waitForURL(/done=redelivered/), row.getByRole("button", { name: "Redeliver" }).click()]);
    await page.getByRole("status").getByText("Queued to be sent again.").waitFor();
    while (received.length < 2) {
      assert(Date.now() < deadline, "the redelivery arrived within 15 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert(received[1] === received[0], "a redelivery carries the same webhook-id");
  } finally {
    receiver.close();
  }
});

test("sign out", async () => {
  await page.goto(BASE + "/ui/projects");
  await Promise.all([page.waitForURL(/\/ui\/login$/), page.getByRole("button", { name: "Sign out" }).click()]);
  assert(!(await context.cookies()).some((c) => c.name === "wharf_session"), "the session cookie is gone");
  await page.goto(BASE + "/ui/projects/shop");
  assert(new URL(page.url()).pathname === "/ui/login", "signed out, pages send you to sign in");
});

// ---- run ----

// launch() gives the browser a fresh, temporary profile (user data dir) of its own, removed
// on close; Playwright refuses a --user-data-dir argument there.
let failed = 0;
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  context.setDefaultTimeout(15000);
  context.on("page", acceptDialogs);
  page = await context.newPage();
  console.log(`1..${tests.length}`);
  for (const [i, { name, body }] of tests.entries()) {
    const started = Date.now();
    try {
      await body();
      console.log(`ok ${i + 1} - ui: ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed++;
      console.log(`not ok ${i + 1} - ui: ${name}`);
      let message = String(error && error.stack || error);
      for (const secret of secrets) message = message.split(secret).join("***");
      console.log(message.split("\n").map((l) => "# " + l).join("\n"));
      const shot = path.join(tmpdir(), `wharf-ui-failure-${i + 1}.png`);
      await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      console.log(`# screenshot: ${shot}`);
    }
  }
} finally {
  if (browser) await browser.close();
}
process.exit(failed ? 1 : 0);
