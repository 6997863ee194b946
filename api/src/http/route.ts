import type { Request, Response } from "express";
import { z } from "zod/v4";
import type { Permission, Principal, Role } from "../auth/types.ts";

/**
 * One route = one definition: method, path, who may call it and the zod schemas of its input.
 * The same definition validates requests, authenticates them, and generates /openapi.json.
 *
 * auth:
 * - "public": no credentials;
 * - "signed": KuCoin API-key signature (KC-API-* headers);
 * - "session": a Sign-In-with-Ethereum session (Authorization: Bearer <token>);
 * - "signedOrSession": either.
 */
export type RouteAuth = "public" | "signed" | "session" | "signedOrSession";

export type RouteInput<Q, B> = { query: Q; body: B; params: Record<string, string>; principal: Principal | null; ip: string; req: Request; res: Response };

export type Route<Q = unknown, B = unknown> = {
  method: "get" | "post" | "delete" | "put";
  path: string; // express syntax, e.g. /api/v1/orders/:orderId
  summary: string;
  tag: string;
  auth: RouteAuth;
  roles?: readonly Role[];
  permission?: Permission;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /**
   * Still served after a journal failure. Most routes are not: the state in memory may then
   * hold records that never became durable, so showing it could show what a restart forgets.
   */
  whileHalted?: boolean;
  /** Returns the `data` of the KuCoin envelope. */
  handler: (input: RouteInput<Q, B>) => unknown | Promise<unknown>;
};

export function defineRoute<Q = Record<string, never>, B = undefined>(route: Route<Q, B>): Route<unknown, unknown> {
  return route as Route<unknown, unknown>;
}

/** Decimal string as KuCoin sends amounts (validated here for shape; scale is checked per currency). */
export const decimalString = z.string().regex(/^\d{1,30}(\.\d{1,18})?$/, "a non-negative decimal string");
export const symbolParam = z.string().regex(/^[A-Z0-9]{1,12}-[A-Z0-9]{1,12}$/, "a symbol like GOLD-VND");
export const clientOid = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, "1-40 characters of [A-Za-z0-9_-]");

/** KuCoin's page envelope over a whole filtered list (currentPage counts from 1). */
export function kucoinPage<T>(items: readonly T[], currentPage: number, pageSize: number) {
  return {
    currentPage,
    pageSize,
    totalNum: items.length,
    totalPage: Math.max(1, Math.ceil(items.length / pageSize)),
    items: items.slice((currentPage - 1) * pageSize, currentPage * pageSize),
  };
}
