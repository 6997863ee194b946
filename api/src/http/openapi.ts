import { z } from "zod/v4";
import type { Route } from "./route.ts";

const SECURITY: Record<Route["auth"], Array<Record<string, string[]>>> = {
  public: [],
  signed: [{ kucoinKey: [] }],
  session: [{ session: [] }],
  signedOrSession: [{ kucoinKey: [] }, { session: [] }],
};

/** OpenAPI 3.1 generated from the route definitions (zod schemas -> JSON Schema). */
export function buildOpenApi(routes: Route[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, "{$1}");
    const params: unknown[] = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    if (r.query) {
      const schema = z.toJSONSchema(r.query, { io: "input", unrepresentable: "any" }) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(schema.properties ?? {})) {
        params.push({ name, in: "query", required: schema.required?.includes(name) ?? false, schema: s });
      }
    }
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.tag],
      security: SECURITY[r.auth],
      parameters: params,
      responses: {
        "200": { description: 'KuCoin envelope {"code":"200000","data":...}' },
        "4XX": { description: 'Error envelope {"code":"<KuCoin code>","msg":"...","senCode":"<Sen rule>"}' },
      },
    };
    if (r.roles) op["x-sen-roles"] = r.roles;
    if (r.body) {
      op.requestBody = { required: true, content: { "application/json": { schema: z.toJSONSchema(r.body, { io: "input", unrepresentable: "any" }) } } };
    }
    paths[path] ??= {};
    paths[path][r.method] = op;
  }
  return {
    openapi: "3.1.0",
    info: { ...info, description: "Sen's KuCoin-compatible spot API. Amounts are decimal strings; see README for signing." },
    components: {
      securitySchemes: {
        kucoinKey: { type: "apiKey", in: "header", name: "KC-API-KEY", description: "plus KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE, KC-API-KEY-VERSION: 2" },
        session: { type: "http", scheme: "bearer", description: "token from POST /api/v1/sen/auth/login (Sign-In with Ethereum)" },
      },
    },
    paths,
  };
}
