import { isIPv4, isIPv6 } from "node:net";
import { normaliseIp } from "./ipAllowList.ts";

/**
 * The key a per-client limit counts an address under: an IPv4 address as it is, an IPv6
 * address by its /64. One subscriber (a home line, a phone, a cloud VM) is routinely handed a
 * whole /64 and can use any address in it, so a limit per /128 is a limit on nothing; a /64 is
 * the smallest prefix that is still one subscriber. IPv4-mapped addresses ("::ffff:1.2.3.4",
 * how Node reports IPv4 on a dual-stack socket) count as the IPv4 address, or every IPv4 client
 * would share one bucket. Anything else (a unit test's label) is returned unchanged.
 */
export function ipLimitKey(rawIp: string): string {
  const ip = normaliseIp(rawIp.split("%")[0]);
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  const groups = ipv6Groups(ip);
  // The hex spelling of a mapped address ("::ffff:102:304") is the same client as the dotted one.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`;
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address ("::" expanded, a trailing dotted quad as two groups). */
function ipv6Groups(ip: string): number[] {
  const parse = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((g) => {
          if (!g.includes(".")) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split(".").map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = ip.indexOf("::");
  if (gap < 0) return parse(ip);
  const head = parse(ip.slice(0, gap));
  const tail = parse(ip.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}
