// ui_journey.mjs drives the admin web UI (controlplane/ui) in Debian's
// headless Chromium with playwright-core, for e2e/ui_test.go. The Go test
// starts the gateway and the upstreams and checks, with a real MCP
// client, what the UI did.
//
//   UI_PHASE=journey  sign in; test connections of unsaved HTTP and stdio
//                     servers; add a Streamable HTTP, a stdio and a hostile
//                     server; restrict a tool and its allowed_params; Try
//                     it with the key; create a key bound to an
//                     access group and read it (shown once) and its client
//                     configs; its effective access; Connect; the audit
//                     log; the XSS, CSRF and narrow-window checks;
//                     screenshots
//   UI_PHASE=block    sign in and block the key
//
// The journey also edits a key's groups, servers and tool permissions
// and sees its effective access follow, and creates an organization and
// gives it a tool permission.
//
// Input (environment): UI_BASE, UI_MASTER, MCPGW_CHROMIUM, UI_WEATHER_URL,
// UI_XSS_URL, UI_STDIO_COMMAND, UI_STDIO_ARG, UI_SCREENSHOTS (a directory).
// Output: one JSON line on stdout ({"key", "config_url", "config_header"}
// for the journey: the key and the copied Cursor config's URL and header). Any
// failed check throws: exit status 1 and the reason on stderr.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env("UI_BASE");
const phase = process.env.UI_PHASE || "journey";
const shots = process.env.UI_SCREENSHOTS || "";
if (shots) mkdirSync(shots, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

// The flags the machine needs: no sandbox as root, and no background
// connections (its network is closed; see docs/ui.md).
const browser = await chromium.launch({
  executablePath: env("MCPGW_CHROMIUM"),
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
const page = await context.newPage();
page.setDefaultTimeout(15000);
const dialogs = [];
page.on("dialog", async (d) => {
  dialogs.push(d.type() + ": " + d.message());
  // Confirmations of the UI's own delete buttons are accepted; any
  // other dialog is an XSS and fails the run below.
  if (d.type() === "confirm") await d.accept(); else await d.dismiss();
});
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));

async function shot(name) {
  // The new key, and the client configs that hold it, are masked.
  if (shots) await page.screenshot({ path: join(shots, name + ".png"), fullPage: true, mask: [page.locator("#new-key"), page.locator(".created textarea")], maskColor: "#c9ced8" });
}

async function signIn() {
  await page.goto(base + "/ui");
  check(page.url().endsWith("/ui/login"), "/ui sends a signed-out browser to the login page, got " + page.url());
  await shot("login");
  await page.getByLabel("Master key").fill(env("UI_MASTER"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL("**/ui/servers");
}

async function flash(text) {
  const f = page.locator(".flash");
  await f.waitFor();
  const got = await f.textContent();
  check(got.includes(text), `flash ${JSON.stringify(got)} says ${JSON.stringify(text)}`);
}

// toolsOf opens the tools page of a server (from its row on the servers
// page) and reloads until the tools are listed (discovery is async).
async function toolsOf(server, ...tools) {
  await page.goto(base + "/ui/servers");
  await page.locator(`tr[data-server="${server}"] a[href^="/ui/tools"]`).click();
  await page.waitForURL("**/ui/tools?server=*");
  for (let i = 0; ; i++) {
    let all = true;
    for (const t of tools) all = all && (await page.locator(`tr[data-tool="${t}"]`).count()) > 0;
    if (all) return;
    if (i > 60) throw new Error(`the tools page of ${server} never listed ${tools}`);
    await page.waitForTimeout(500);
    await page.reload();
  }
}

async function addServer(transport, fields) {
  await page.goto(base + "/ui/servers");
  const link = { http: "Add a Streamable HTTP server", stdio: "stdio" }[transport];
  await page.getByRole("link", { name: link, exact: true }).click();
  check((await page.getByLabel("Transport").inputValue()) === transport, "the form's transport is " + transport);
  for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, { exact: true }).fill(value);
  if (transport === "http" && fields.Name === "weather") await shot("server-form");
  await page.getByRole("button", { name: "Add server" }).click();
  await page.waitForURL("**/ui/servers");
  await flash(`Server ${fields.Name} added.`);
}

// accessShows reloads the effective-access page until it lists the
// tools present and none of absent (a write reaches the gateway's
// policy asynchronously).
async function accessShows(present, absent) {
  for (let i = 0; ; i++) {
    let ok = true;
    for (const t of present) ok = ok && (await page.locator(`tr[data-tool="${t}"]`).count()) === 1;
    for (const t of absent) ok = ok && (await page.locator(`tr[data-tool="${t}"]`).count()) === 0;
    if (ok) return;
    if (i > 40) throw new Error(`effective access never showed ${present} without ${absent}`);
    await page.waitForTimeout(250);
    await page.reload();
  }
}

const out = {};
await signIn();

if (phase === "journey") {
  // A field error from the API's validator, inline.
  await page.goto(base + "/ui/server?transport=http");
  await page.getByLabel("Name", { exact: true }).fill("bad");
  await page.getByLabel("URL", { exact: true }).fill("https://user:pw@example.com/mcp");
  await page.getByRole("button", { name: "Add server" }).click();
  check((await page.locator("#url-error").count()) === 1, "a URL with credentials is refused on its field");
  check((await page.getByLabel("URL", { exact: true }).getAttribute("aria-invalid")) === "true", "the URL field is marked invalid");
  await shot("server-form-errors");

  // Test connection, before saving: an unsaved HTTP server's tools, then
  // an unsaved stdio server's; neither is saved.
  await page.goto(base + "/ui/server?transport=http");
  await page.getByLabel("Name", { exact: true }).fill("probe");
  await page.getByLabel("URL", { exact: true }).fill(env("UI_WEATHER_URL"));
  await page.locator("#auth_type").selectOption("bearer_token");
  await page.locator("#auth_value").fill("tok-typed-1");
  await page.getByRole("button", { name: "Test connection" }).click();
  await page.locator('[data-testid="connection-test"][data-ok="true"]').waitFor();
  for (const t of ["forecast", "alerts"]) check((await page.locator(`#connection-test tr[data-tool="${t}"]`).count()) === 1, `the test lists ${t}`);
  check((await page.getByLabel("URL", { exact: true }).inputValue()) === env("UI_WEATHER_URL"), "the form keeps its fields after the test");
  check((await page.locator("#auth_value").inputValue()) === "tok-typed-1", "the typed secret stays in its field (the page never shows it again)");
  check(!(await page.content()).includes("tok-typed-1"), "the secret is in no page");
  await shot("server-test");
  await page.goto(base + "/ui/server?transport=stdio");
  await page.getByLabel("Name", { exact: true }).fill("probestdio");
  await page.getByLabel("Command", { exact: true }).fill(env("UI_STDIO_COMMAND"));
  await page.getByLabel("Arguments (one per line)", { exact: true }).fill(env("UI_STDIO_ARG"));
  await page.getByRole("button", { name: "Test connection" }).click();
  await page.locator('[data-testid="connection-test"][data-ok="true"]').waitFor({ timeout: 40000 });
  check((await page.locator('#connection-test tr[data-tool="read_graph"]').count()) === 1, "the stdio test lists read_graph");
  await page.getByLabel("Command", { exact: true }).fill("bash");
  await page.getByRole("button", { name: "Test connection" }).click();
  await page.locator("#command-error").waitFor();
  check((await page.locator("#command-error").textContent()).includes("not allowed"), "a command outside the allowed list is not run");
  await page.goto(base + "/ui/servers");
  check((await page.locator('tr[data-server^="probe"]').count()) === 0, "a tested server is not saved");

  await addServer("http", { Name: "weather", URL: env("UI_WEATHER_URL"), "Access groups (comma-separated)": "forecasts" });
  await addServer("stdio", { Name: "memory", Command: env("UI_STDIO_COMMAND"), "Arguments (one per line)": env("UI_STDIO_ARG") });
  await addServer("http", { Name: "hostile", URL: env("UI_XSS_URL") });

  // Tools, and a restriction.
  await toolsOf("weather", "forecast", "alerts");
  await shot("tools");
  await page.getByLabel("alerts", { exact: true }).uncheck();
  await page.getByRole("button", { name: "Save tool access" }).click();
  await flash("Disallowed: alerts.");
  check((await page.locator('tr[data-tool="alerts"]').textContent()).includes("disallowed"), "alerts shown disallowed");
  check(!(await page.getByLabel("alerts", { exact: true }).isChecked()), "alerts unchecked");
  // allowed_params: forecast takes only "text" (from its schema).
  await page.locator('details[data-params="forecast"] summary').click();
  await page.locator('details[data-params="forecast"] input[name="param"][value="text"]').check();
  await page.locator('details[data-params="forecast"]').getByRole("button", { name: "Save parameters" }).click();
  await flash("forecast takes only: text.");
  check((await page.locator('details[data-params="forecast"] summary').textContent()).includes("only text"), "forecast's allowed parameters are shown");
  await page.locator('details[data-params="forecast"] summary').click();
  await shot("tools-params");
  await toolsOf("memory", "read_graph");

  // The servers table.
  await page.goto(base + "/ui/servers");
  for (const s of ["base", "weather", "memory", "hostile"]) check((await page.locator(`tr[data-server="${s}"]`).count()) === 1, `server ${s} listed`);
  check((await page.locator('tr[data-server="base"]').textContent()).includes("config file"), "the config file's server is marked read-only");
  await shot("servers");

  // A key bound to the access group, shown once, copied.
  await page.goto(base + "/ui/keys");
  await page.getByLabel("Alias").fill("forecaster");
  await page.locator("#key-form").getByLabel("forecasts").check();
  await page.getByRole("button", { name: "Create key" }).click();
  const key = await page.locator("#new-key").inputValue();
  check(key.startsWith("sk-") && key.length > 40, "the new key is shown: " + key.slice(0, 3));
  await page.locator('button[data-copy="new-key"]').click();
  check((await page.evaluate(() => navigator.clipboard.readText())) === key, "Copy puts the key on the clipboard");
  await shot("keys");
  // Its client config (Cursor's), copied: the Go test connects with it.
  await page.locator('button[data-copy="cfg-cursor"]').click();
  const cursor = JSON.parse(await page.evaluate(() => navigator.clipboard.readText()));
  const entry = cursor.mcpServers && cursor.mcpServers.mcpgw;
  check(entry && entry.url === base + "/mcp", "the Cursor config points at /mcp: " + (entry && entry.url));
  check(entry.headers["x-litellm-api-key"] === "Bearer " + key, "the Cursor config holds the key");
  const openai = JSON.parse(await page.locator("#cfg-openai").inputValue());
  check(openai.type === "mcp" && openai.server_url === base + "/mcp" && openai.headers["x-litellm-api-key"] === "Bearer " + key, "the Responses API tools entry");
  out.config_url = entry.url;
  out.config_header = entry.headers["x-litellm-api-key"];
  await page.goto(base + "/ui/keys");
  check(!(await page.content()).includes(key), "the key is shown only once");
  check((await page.locator('tr[data-key="forecaster"]').textContent()).includes("forecasts"), "the key is bound to forecasts");
  out.key = key;

  // Its effective access: the gateway's decision, the group's tools only.
  await page.locator('tr[data-key="forecaster"]').getByRole("link", { name: "Access" }).click();
  await page.waitForURL("**/ui/access?key=*");
  check((await page.locator('tr[data-tool="weather-forecast"]').count()) === 1, "the key's access lists weather-forecast");
  check((await page.locator('tr[data-tool="weather-alerts"]').count()) === 0, "the key's access omits the disallowed weather-alerts");
  check((await page.locator("[data-access-server]").count()) === 1, "the key reaches one server");
  await shot("access");

  // Try it: the key typed once (never shown again), a tool it sees run
  // through the gateway, a tool it does not see refused, a parameter
  // outside allowed_params refused.
  await page.goto(base + "/ui/tryit");
  await page.getByLabel("Gateway key").fill(key);
  await page.getByRole("button", { name: "Use this key" }).click();
  await flash("Calls are made with key");
  check(!(await page.content()).includes(key), "the Try-it page does not show the key");
  check(!page.url().includes(key), "the key is in no URL");
  check((await page.locator('tr[data-tool="weather-forecast"]').count()) === 1 && (await page.locator('tr[data-tool="weather-alerts"]').count()) === 0, "Try it lists the key's tools");
  await page.locator('tr[data-tool="weather-forecast"] a').click();
  await page.locator('[data-arg="text"] input').fill("sunny <b>day</b>");
  await page.getByRole("button", { name: "Run" }).click();
  await page.getByTestId("outcome").waitFor();
  check((await page.getByTestId("http-status").textContent()).includes("HTTP 200"), "the call answered 200");
  check((await page.getByTestId("result-text").textContent()) === "weather:forecast:sunny <b>day</b>", "the tool's result is shown as text: " + await page.getByTestId("result-text").textContent());
  await shot("tryit");
  await page.getByLabel("Arguments as JSON").fill('{"text": "x", "limit": 1}');
  await page.getByRole("button", { name: "Run" }).click();
  await page.getByTestId("rpc-error").waitFor();
  const refusedParams = await page.getByTestId("rpc-error").textContent();
  check(refusedParams.includes("Parameters ['limit'] are not allowed for tool forecast"), "allowed_params refuses limit: " + refusedParams);
  check((await page.getByTestId("http-status").textContent()).includes("HTTP 403"), "the refusal is a 403");
  await page.getByLabel("Another tool name").fill("weather-alerts");
  await page.getByRole("button", { name: "Choose" }).click();
  check((await page.getByTestId("not-visible").count()) === 1, "Try it says the key does not see weather-alerts");
  await page.getByRole("button", { name: "Run" }).click();
  await page.getByTestId("rpc-error").waitFor();
  out.tryit_denied = await page.getByTestId("rpc-error").textContent();
  out.tryit_denied_status = await page.getByTestId("http-status").textContent();
  await shot("tryit-denied");

  // Connect, one server's endpoint, with the placeholder.
  await page.goto(base + "/ui/connect");
  await page.getByLabel("One server").check();
  await page.getByLabel("Server", { exact: true }).selectOption("weather");
  await page.getByRole("button", { name: "Show configs" }).click();
  check((await page.getByTestId("endpoint").textContent()) === base + "/weather/mcp", "the one-server endpoint");
  check((await page.locator("#cfg-vscode").inputValue()).includes('"Bearer <your key>"'), "the placeholder stands for the key");
  check(!(await page.content()).includes(key), "the Connect page does not show the key");
  await shot("connect");

  // The audit log: the writes above, newest first.
  await page.goto(base + "/ui/audit");
  const tables = await page.locator("tr[data-audit] td:nth-child(5)").allTextContents();
  check(tables[0] === "LiteLLM_VerificationToken" && tables.includes("LiteLLM_MCPServerTable"), "the audit log lists the key and server writes: " + tables.slice(0, 3));
  const ids = (await page.locator("tr[data-audit]").evaluateAll((rs) => rs.map((r) => Number(r.dataset.audit))));
  check(ids.every((v, i) => i === 0 || v < ids[i - 1]), "the audit log is newest first");
  await shot("audit");

  // XSS: an upstream's tool description and schema are shown as text.
  await toolsOf("hostile", "steal");
  const desc = await page.locator('tr[data-tool="steal"] td.description').textContent();
  check(desc.includes("<img src=x onerror=alert(1)>") && desc.includes("<script>"), "the payload is shown as text: " + desc);
  check((await page.locator('tr[data-tool="steal"] img, tr[data-tool="steal"] script, main img').count()) === 0, "no element made from the payload");
  await page.locator('tr[data-tool="steal"] td:nth-child(4) summary').click();
  check((await page.locator('tr[data-tool="steal"] pre.schema').textContent()).includes("<img src=x"), "the schema is shown as text");
  await page.waitForTimeout(500);
  await shot("tools-hostile");

  // CSRF: a POST without the session's token is refused, with the
  // session cookie (the browser context's) attached.
  for (const form of [{ key_alias: "csrf-evil" }, { key_alias: "csrf-evil", csrf: "forged" }]) {
    const r = await page.request.post(base + "/ui/keys", { form, maxRedirects: 0 });
    check(r.status() === 403, "a POST without the CSRF token is refused 403, got " + r.status());
  }
  await page.goto(base + "/ui/keys");
  check(!(await page.content()).includes("csrf-evil"), "no key was created without the token");

  // Teams, minimal.
  await page.goto(base + "/ui/teams");
  await page.getByLabel("Alias").fill("platform");
  await page.getByRole("button", { name: "Create team" }).click();
  await flash("Team platform created.");
  await shot("teams");

  // Edit a key: an access group, a server with only one of its tools;
  // its effective access (the gateway's decision) follows.
  await page.goto(base + "/ui/keys");
  await page.getByLabel("Alias").fill("editor");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.locator("#new-key").waitFor();
  await page.goto(base + "/ui/keys");
  await page.locator('tr[data-key="editor"]').getByRole("link", { name: "Access" }).click();
  await accessShows([], ["weather-forecast"]);
  check((await page.getByTestId("no-tools").count()) === 1, "a key bound to nothing can use no tool");
  await page.goto(base + "/ui/keys");
  await page.locator('tr[data-key="editor"]').getByRole("link", { name: "Edit" }).click();
  await page.waitForURL("**/ui/key?key=*");
  const keyEditURL = page.url();
  await page.locator("#groups-set").getByLabel("forecasts", { exact: true }).check();
  await page.locator("#servers-set").getByLabel("memory", { exact: true }).check();
  const mem = page.locator('details[data-perm-server="memory"]');
  await mem.locator("summary").click();
  await mem.getByLabel("Only the tools checked").check();
  await mem.getByLabel("allow read_graph", { exact: true }).check();
  await shot("key-edit");
  await page.getByRole("button", { name: "Save key" }).click();
  await page.waitForURL("**/ui/access?key=*");
  await flash("Key editor saved.");
  await accessShows(["weather-forecast", "memory-read_graph"], ["weather-alerts", "memory-create_entities", "memory-search_nodes"]);
  check((await page.locator("[data-access-server]").count()) === 2, "the edited key reaches two servers");
  // Back on the form: what was saved is checked.
  await page.goto(keyEditURL);
  check(await page.locator('details[data-perm-server="memory"]').getByLabel("allow read_graph", { exact: true }).isChecked(), "read_graph stays allowed");
  check(await page.locator('details[data-perm-server="memory"]').getByLabel("Only the tools checked").isChecked(), "memory stays restricted");

  // Organizations: create one, give it a tool permission.
  await page.goto(base + "/ui/orgs");
  check((await page.locator(".empty").textContent()).includes("No organizations yet"), "the organizations' empty state");
  await page.getByLabel("Alias").fill("acme");
  await page.getByLabel("Access groups (comma-separated)").fill("forecasts");
  await page.getByRole("button", { name: "Create organization" }).click();
  await flash("Organization acme created.");
  check((await page.locator('tr[data-org="acme"]').textContent()).includes("forecasts"), "the organization is listed with its group");
  await page.locator('tr[data-org="acme"]').getByRole("link", { name: "Edit" }).click();
  await page.waitForURL("**/ui/org?id=*");
  const wx = page.locator('details[data-perm-server="weather"]');
  await wx.locator("summary").click();
  await wx.getByLabel("never forecast", { exact: true }).check();
  await page.getByRole("button", { name: "Save organization" }).click();
  await flash("Organization acme saved.");
  check((await page.locator('tr[data-org="acme"]').textContent()).includes("weather: not forecast"), "the organization's tool permission is listed");
  await shot("orgs");
  // Both fit a narrow window (tables scroll in their own box).
  await page.setViewportSize({ width: 390, height: 844 });
  for (const p of [base + "/ui/orgs", keyEditURL]) {
    await page.goto(p);
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    check(w <= 392, `${p} fits a 390px window (scrollWidth ${w})`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });

  // Keyboard: the key form is reachable and usable with Tab alone.
  await page.goto(base + "/ui/keys");
  await page.locator("#key_alias").focus();
  await page.keyboard.press("Tab");
  check((await page.evaluate(() => document.activeElement.id)) === "team_id", "Tab goes from the alias to the team");

  // A narrow window: no page-wide horizontal scroll (tables scroll in
  // their own box).
  await page.setViewportSize({ width: 390, height: 844 });
  for (const p of ["/ui/servers", "/ui/keys", "/ui/server?transport=http", "/ui/connect", "/ui/audit", "/ui/tryit?tool=weather-forecast"]) {
    await page.goto(base + p);
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    const wide = await page.evaluate(() => [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > 392 && !e.closest(".scroll")).slice(0, 3)
      .map((e) => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right)).join(", "));
    check(w <= 392, `${p} fits a 390px window (scrollWidth ${w}; too wide: ${wide})`);
  }
  await shot("servers-narrow");
} else if (phase === "block") {
  await page.goto(base + "/ui/keys");
  await page.locator('tr[data-key="forecaster"]').getByRole("button", { name: "Block" }).click();
  await flash("Key blocked");
  check((await page.locator('tr[data-key="forecaster"]').textContent()).includes("blocked"), "the key is shown blocked");
  await page.locator('tr[data-key="forecaster"]').getByRole("link", { name: "Access" }).click();
  check((await page.getByTestId("denied").textContent()).includes("revoked"), "the blocked key's access says the gateway refuses it");
} else {
  throw new Error("unknown UI_PHASE " + phase);
}

check(dialogs.filter((d) => !d.startsWith("confirm")).length === 0, "no dialog fired: " + dialogs);
check(pageErrors.length === 0, "no script error on the pages: " + pageErrors);
await browser.close();
console.log(JSON.stringify(out));
