import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import express from "express";
import { JS, serveAssets, type PageAsset } from "./browserPages.ts";

type Reply = { status: number; headers: http.IncomingHttpHeaders; body: Buffer };

function get(port: number, urlPath: string, headers: Record<string, string> = {}, method = "GET"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http
      .request({ port, path: urlPath, headers, method }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on("error", reject)
      .end();
  });
}

describe("browser page assets: compressed once, negotiated per request, revalidated by ETag", () => {
  let server: http.Server;
  let port: number;
  const dir = mkdtempSync(path.join(tmpdir(), "sen-pages-"));
  const source = `export const rows: number[] = [${Array.from({ length: 2_000 }, (_, i) => i).join(", ")}];\n`;

  before(async () => {
    writeFileSync(path.join(dir, "app.ts"), source);
    const assets = new Map<string, PageAsset>([
      ["/app.ts", { file: path.join(dir, "app.ts"), type: JS, transpile: true }],
      ["/missing.js", { file: path.join(dir, "missing.js"), type: JS }],
    ]);
    const app = express();
    app.use(serveAssets(assets, "default-src 'none'"));
    app.use((_req, res) => void res.status(404).send("next"));
    app.use(((_err, _req, res, _next) => void res.status(500).send("error")) as express.ErrorRequestHandler);
    server = app.listen(0);
    await new Promise((r) => server.once("listening", r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it("sends brotli, gzip or the plain bytes as the client accepts, each decoding to the type-stripped file", async () => {
    const br = await get(port, "/app.ts", { "accept-encoding": "gzip, deflate, br" });
    assert.equal(br.headers["content-encoding"], "br");
    assert.equal(br.headers.vary, "Accept-Encoding");
    assert.equal(br.headers["content-security-policy"], "default-src 'none'");
    // Type stripping blanks the annotation in place (positions kept for stack traces).
    assert.match(brotliDecompressSync(br.body).subarray(0, 40).toString(), /^export const rows\s+= \[0, 1,/);
    const gz = await get(port, "/app.ts", { "accept-encoding": "gzip" });
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.equal(gunzipSync(gz.body).toString(), brotliDecompressSync(br.body).toString());
    const plain = await get(port, "/app.ts");
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.equal(plain.body.toString(), brotliDecompressSync(br.body).toString());
    assert.ok(!plain.body.toString().includes("number[]"), "types stripped");
    assert.ok(br.body.length * 4 < plain.body.length, `compressed ${br.body.length} of ${plain.body.length} bytes`);
  });

  it("answers a matching If-None-Match with 304 and HEAD without a body", async () => {
    const first = await get(port, "/app.ts", { "accept-encoding": "br" });
    const again = await get(port, "/app.ts", { "accept-encoding": "br", "if-none-match": first.headers.etag! });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const head = await get(port, "/app.ts", { "accept-encoding": "br" }, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  it("passes other paths and methods on, and a file it cannot read to the error handler (not cached)", async () => {
    assert.equal((await get(port, "/other.js")).body.toString(), "next");
    assert.equal((await get(port, "/app.ts", {}, "POST")).body.toString(), "next");
    assert.equal((await get(port, "/missing.js")).status, 500);
    writeFileSync(path.join(dir, "missing.js"), "export {};\n");
    const now = await get(port, "/missing.js");
    assert.equal(now.status, 200, "a failed read is retried on the next request");
  });
});
