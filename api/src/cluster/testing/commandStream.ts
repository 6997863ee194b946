import type { Redis } from "ioredis";
import { until } from "../../../test/support/until.ts";
import { CMD_STREAM } from "../commandBus.ts";

/** A consumer's answer to one command as it sits in a reply stream. */
export type CommandReply = { ok: boolean; value?: { orderId?: string }; error?: { name: string; code: string; message: string; details?: unknown } };

/**
 * An edge's side of the command stream for tests that drive a consumer by hand: commands added
 * to `sen:cmd` with ids `<prefix>:<n>` and answers read back from `replyStream`, every answer
 * each command got (a successor that answers again adds a second).
 */
export function commandStream(redis: Redis, replyStream: string, prefix: string) {
  let n = 0;
  const replies = async (id: string): Promise<CommandReply[]> =>
    // An entry of the reply stream holds several answers: "id", <command id>, "v", <answer>, ...
    (await redis.xrange(replyStream, "-", "+")).flatMap(([, f]) => {
      const out: CommandReply[] = [];
      for (let i = 0; i + 3 < f.length; i += 4) if (f[i + 1] === id) out.push(JSON.parse(f[i + 3]) as CommandReply);
      return out;
    });
  return {
    async send(op: string, args: unknown[]): Promise<string> {
      const id = `${prefix}:${++n}`;
      await redis.xadd(CMD_STREAM, "*", "id", id, "r", replyStream, "c", JSON.stringify({ op, args }));
      return id;
    },
    replies,
    /** Each command's `nth` answer (1: the first sequencer's, 2: a successor's), once every one has it. */
    async answers(ids: readonly string[], nth: number): Promise<CommandReply[]> {
      await until(`every command answered ${nth} time(s)`, async () => (await Promise.all(ids.map(replies))).every((x) => x.length === nth));
      return Promise.all(ids.map(async (id) => (await replies(id))[nth - 1]));
    },
  };
}

/** "ok", or the refusal's code. */
export const outcome = (x: CommandReply) => (x.ok ? "ok" : x.error!.code);
