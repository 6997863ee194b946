import { BlockList, isIPv4, isIPv6 } from "node:net";
import { AuthCode, AuthError } from "../errors/SenError.ts";

const compiled = new WeakMap<readonly string[], BlockList>();

/**
 * Is `ip` allowed by an API key's allow-list? An empty list allows any address. Entries are
 * single addresses or CIDR ranges ("10.0.0.0/8", "2001:db8::/32"). Lists are compiled once per
 * array instance (records are immutable, so the cache stays valid).
 */
export function isIpAllowed(entries: readonly string[], rawIp: string): boolean {
  if (entries.length === 0) return true;
  let list = compiled.get(entries);
  if (list === undefined) {
    list = parseIpAllowList(entries);
    compiled.set(entries, list);
  }
  const ip = normaliseIp(rawIp);
  if (isIPv4(ip)) return list.check(ip, "ipv4");
  if (isIPv6(ip)) return list.check(ip, "ipv6");
  return false;
}

/** "::ffff:1.2.3.4" (how Node reports IPv4 on a dual-stack socket) → "1.2.3.4". */
export function normaliseIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1] : ip;
}

/** Throws AUTH_INVALID_INPUT on an entry that is neither an address nor a CIDR range. */
export function parseIpAllowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [addr, prefix, extra] = entry.split("/");
    const type = isIPv4(addr) ? "ipv4" : isIPv6(addr) ? "ipv6" : undefined;
    if (type === undefined || extra !== undefined) {
      throw new AuthError(AuthCode.INVALID_INPUT, "Invalid IP allow-list entry", { details: { entry } });
    }
    if (prefix === undefined) list.addAddress(addr, type);
    else {
      const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
      if (bits < 0 || bits > (type === "ipv4" ? 32 : 128)) {
        throw new AuthError(AuthCode.INVALID_INPUT, "Invalid IP allow-list prefix", { details: { entry } });
      }
      list.addSubnet(addr, bits, type);
    }
  }
  return list;
}
