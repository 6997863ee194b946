import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ipLimitKey } from "./ipLimitKey.ts";

describe("ipLimitKey", () => {
  it("keys IPv6 by /64, however the address is spelled", () => {
    const key = "2001:db8:0:1::/64";
    for (const ip of ["2001:db8:0:1::1", "2001:0db8:0000:0001:ffff:ffff:ffff:ffff", "2001:DB8:0:1:a:b:c:d", "2001:db8::1:0:0:0:9", "2001:db8:0:1::1%eth0", "2001:db8:0:1::192.0.2.1"]) {
      assert.equal(ipLimitKey(ip), key, ip);
    }
    assert.equal(ipLimitKey("2001:db8:0:2::1"), "2001:db8:0:2::/64");
    assert.equal(ipLimitKey("::1"), "0:0:0:0::/64");
    assert.equal(ipLimitKey("fe80::1"), "fe80:0:0:0::/64");
    assert.equal(ipLimitKey("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(ipLimitKey("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(ipLimitKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  });

  it("keeps IPv4 per address, IPv4-mapped IPv6 included (else every IPv4 client of a dual-stack socket shares one key)", () => {
    assert.equal(ipLimitKey("198.51.100.7"), "198.51.100.7");
    assert.equal(ipLimitKey("::ffff:198.51.100.7"), "198.51.100.7");
    assert.equal(ipLimitKey("::FFFF:198.51.100.7"), "198.51.100.7");
    assert.equal(ipLimitKey("::ffff:c633:6407"), "198.51.100.7");
    assert.notEqual(ipLimitKey("::ffff:198.51.100.8"), ipLimitKey("::ffff:198.51.100.7"));
  });

  it("returns what is not an address unchanged", () => {
    assert.equal(ipLimitKey(""), "");
    assert.equal(ipLimitKey("ip"), "ip");
  });
});
