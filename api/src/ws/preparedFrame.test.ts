import assert from "node:assert/strict";
import { createServer } from "node:http";
import { describe, it } from "node:test";
import * as wsModule from "ws";
import WebSocket, { WebSocketServer } from "ws";
import { textFrame, writePreparedFrame } from "./preparedFrame.ts";

describe("prepared websocket text frames", () => {
  it("are byte for byte what ws frames for the same payload (7-bit, 16-bit and 64-bit lengths)", () => {
    // ws's own framer (exported by its ESM wrapper, not declared in its types).
    const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, o: object): Buffer[] } };
    for (const n of [0, 1, 125, 126, 200, 65_535, 65_536, 70_000]) {
      const payload = Buffer.alloc(n, "x");
      const viaWs = Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
      assert.ok(textFrame(payload).equals(viaWs), `length ${n}`);
    }
  });

  it("written to a real connection, arrive in order with what ws.send sends, and fall back when permessage-deflate is on", async () => {
    for (const deflate of [false, true]) {
      const server = createServer();
      const wss = new WebSocketServer({ server, perMessageDeflate: deflate });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as { port: number }).port;
      const serverSide = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
      const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: deflate });
      const got: string[] = [];
      const all = new Promise<void>((resolve) => client.on("message", (m, binary) => (assert.equal(binary, false), got.push(m.toString()), got.length === 4 && resolve())));
      const ws = await serverSide;
      const big = "é".repeat(40_000); // 80,000 bytes: a 64-bit length
      ws.send("first");
      // As the gateway does: the prepared frame when ws allows, ws.send otherwise.
      const prepared = ["second", big].map((text) => {
        const bytes = Buffer.from(text);
        const written = writePreparedFrame(ws, textFrame(bytes));
        if (!written) ws.send(bytes, { binary: false });
        return written;
      });
      ws.send("last");
      await all;
      assert.deepEqual(prepared, deflate ? [false, false] : [true, true], "never bypasses compression");
      assert.deepEqual(got, ["first", "second", big, "last"]);
      client.close();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("behind a backlog (the client not reading), queue after it in order, counted in bufferedAmount", async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const serverSide = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((resolve) => client.once("open", resolve));
    const ws = await serverSide;
    const got: string[] = [];
    const all = new Promise<void>((resolve) => client.on("message", (m) => (got.push(m.toString()), got.length === 5 && resolve())));
    (client as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = "b".repeat(16 * 1024 * 1024); // more than the kernel's buffers take: the rest waits in Node's stream
    ws.send(big);
    const before = ws.bufferedAmount;
    assert.ok(before > 0, "a backlog");
    for (const text of ["one", "two", "three"]) assert.equal(writePreparedFrame(ws, textFrame(Buffer.from(text))), true);
    assert.ok(ws.bufferedAmount > before, "the queued frames count in bufferedAmount (the slow-consumer cut-off sees them)");
    ws.send("last");
    (client as unknown as { _socket: { resume(): void } })._socket.resume();
    await all;
    assert.deepEqual(got.map((m) => (m === big ? "big" : m)), ["big", "one", "two", "three", "last"]);
    client.close();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
