import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { API_DOCS_CSP } from "../src/http/apiDocs.ts";
import { startChain, type ChainFixture } from "./support/chainFixture.ts";
import { startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";

/** The rendered API reference at /docs: swagger-ui-dist from node_modules on the gateway's own OpenAPI document. */

const CHROMIUM = "/usr/bin/chromium";

describe("API reference at /docs", { timeout: 90_000 }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;

  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain, { env: { SEN_JOURNAL_FSYNC: "none" } });
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("serves the page with its CSP: no inline or eval'd script or style", async () => {
    for (const p of ["/docs", "/docs/"]) {
      const res = await fetch(`${gw.url}${p}`);
      assert.equal(res.status, 200, p);
      assert.match(res.headers.get("content-type")!, /^text\/html/);
      const csp = res.headers.get("content-security-policy")!;
      assert.equal(csp, API_DOCS_CSP);
      assert.match(csp, /script-src 'self'(;|$)/, "scripts: this origin's files only");
      assert.doesNotMatch(csp, /unsafe-eval/);
      assert.doesNotMatch(csp, /unsafe-inline/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      const html = await res.text();
      // Every script is a file of this origin: nothing for an inline-script CSP to admit.
      const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      assert.ok(scripts.length >= 2);
      for (const [, attrs, body] of scripts) {
        assert.match(attrs, /src="\/docs\/[\w.-]+\.js"/);
        assert.equal(body.trim(), "");
      }
    }
  });

  it("serves every asset the page names, and the initializer points at the OpenAPI document", async () => {
    const html = await (await fetch(`${gw.url}/docs/`)).text();
    const urls = [...html.matchAll(/(?:src|href)="(\/docs\/[^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(urls.sort(), ["/docs/initializer.js", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"]);
    for (const u of urls) {
      const res = await fetch(`${gw.url}${u}`);
      assert.equal(res.status, 200, u);
      assert.match(res.headers.get("content-type")!, u.endsWith(".css") ? /^text\/css/ : /^text\/javascript/, u);
      assert.ok((await res.arrayBuffer()).byteLength > 100, u);
    }
    const init = await (await fetch(`${gw.url}/docs/initializer.js`)).text();
    const specUrl = /url:\s*"([^"]+)"/.exec(init)?.[1];
    assert.equal(specUrl, "/openapi.json");
    const spec = (await (await fetch(`${gw.url}${specUrl}`)).json()) as { openapi: string; paths: Record<string, Record<string, { summary: string }>> };
    assert.match(spec.openapi, /^3\./);
    assert.ok(spec.paths["/api/v1/orders"]?.post, "placing an order is documented");
    assert.ok(spec.paths["/api/v3/withdrawals"]?.post);
    assert.ok(spec.paths["/api/v1/sen/auth/login"]?.post);
  });

  it("serves nothing outside the allow-list (no path reaches the file system)", async () => {
    for (const p of ["/docs/index.html", "/docs/swagger-ui.js", "/docs/package.json", "/docs/../package.json", "/docs/%2e%2e/package.json", "/docs/swagger-ui-bundle.js.map", "/docs/favicon-32x32.png"]) {
      const res = await fetch(`${gw.url}${p}`);
      assert.equal(res.status, 404, p);
      await res.arrayBuffer();
    }
    const post = await fetch(`${gw.url}/docs/`, { method: "POST" });
    assert.equal(post.status, 404);
    await post.arrayBuffer();
  });

  it("renders the operations in Chromium with no CSP violation, and 'Try it out' reaches the gateway", { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing` }, async () => {
    const { chromium } = await import("playwright-core");
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
      const page = await browser.newPage();
      const violations: string[] = [];
      const errors: string[] = [];
      await page.exposeFunction("reportViolation", (v: string) => violations.push(v));
      // Page code as strings: the root tsconfig has no DOM library (Node code must not see one).
      await page.addInitScript(`document.addEventListener("securitypolicyviolation", (e) => window.reportViolation(e.violatedDirective + " " + e.blockedURI + " " + e.sample));`);
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await page.goto(`${gw.url}/docs`);
      const orders = page.locator(".opblock-summary", { has: page.locator('[data-path="/api/v1/orders"]') }).first();
      await orders.waitFor({ timeout: 20_000 });
      assert.equal(await page.locator(".info .title").first().innerText().then((t) => t.startsWith("Sen exchange API")), true);
      const paths = await page.locator(".opblock-summary-path").allInnerTexts();
      assert.ok(paths.length >= 30, `${paths.length} operations rendered`);
      for (const p of ["/api/v1/orders", "/api/v3/withdrawals", "/api/v1/sen/auth/challenge"]) assert.ok(paths.some((t) => t.replace(/\u200b/g, "") === p), `${p} rendered`);

      // Every operation open (parameters, request-body schemas), then the schemas section.
      await page.evaluate(`document.querySelectorAll(".opblock-summary-control").forEach((b) => b.click())`);
      await page.evaluate(`document.querySelectorAll(".models-control, .models .model-box-control").forEach((b) => b.click())`);
      await page.locator(".opblock.is-open").nth(paths.length - 1).waitFor();

      // "Try it out" on a public route: the request goes to this origin and its answer is shown.
      const block = page.locator(".opblock.is-open", { has: page.locator('[data-path="/api/v1/timestamp"]') }).first();
      await block.locator("button.try-out__btn").click();
      await block.locator("button.execute").click();
      const status = block.locator(".live-responses-table tbody .response-col_status").first();
      await status.waitFor({ timeout: 10_000 });
      assert.equal((await status.innerText()).trim(), "200");
      assert.match(await block.locator(".live-responses-table tbody .response-col_description").first().innerText(), /"code": "200000"/);

      assert.deepEqual(violations, [], "the CSP blocked nothing swagger-ui needs");
      assert.deepEqual(errors, []);
    } finally {
      await browser?.close();
    }
  });
});
