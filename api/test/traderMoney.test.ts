import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { add, compare, formatAmount, formatChange, formatDecimal, formatVnd, multiply, parseInput } from "../trader/src/money.ts";

/** The trader app's amounts (api/trader/src/money.ts): Vietnamese grouping, exact decimal strings, no float on the way. */
const NBSP = "\u00a0";

describe("trader app money formatting", () => {
  it("writes đồng as Vietnamese users read them, and as English readers do", () => {
    assert.equal(formatVnd("1234567", "vi"), `1.234.567${NBSP}₫`);
    assert.equal(formatVnd("1234567", "en"), "₫1,234,567");
    assert.equal(formatVnd("0", "vi"), `0${NBSP}₫`);
    assert.equal(formatVnd(null, "vi"), "—");
    // Beyond 2^53: grouped from the bigint, not rounded through a number.
    assert.equal(formatVnd("123456789012345678901", "vi"), `123.456.789.012.345.678.901${NBSP}₫`);
    assert.equal(formatAmount("5", "GOLD", "vi"), "5 GOLD");
    assert.equal(formatDecimal("1234.50", "vi"), "1.234,50");
    assert.equal(formatDecimal("1234.50", "en"), "1,234.50");
    assert.equal(formatChange("0.0123", "en"), "+1.23%");
  });

  it("reads what was typed in either language's way of writing numbers", () => {
    assert.equal(parseInput("1.234.567", "vi"), "1234567");
    assert.equal(parseInput("1,5", "vi"), "1.5");
    assert.equal(parseInput("1,234,567.50", "en"), "1234567.5");
    assert.equal(parseInput("100 000 ₫", "vi"), "100000");
    assert.equal(parseInput("0012", "en"), "12");
    assert.equal(parseInput("1,2,3", "vi"), null);
    assert.equal(parseInput("abc", "en"), null);
    assert.equal(parseInput("", "en"), null);
  });

  it("multiplies, adds and compares decimal strings exactly", () => {
    assert.equal(multiply("100000", "10"), "1000000");
    assert.equal(multiply("0.1", "0.2"), "0.02");
    assert.equal(multiply("9007199254740993", "3"), "27021597764222979");
    assert.equal(add("0.1", "0.2"), "0.3");
    assert.equal(add("48999000", "1000000"), "49999000");
    assert.equal(compare("100000000", "99999999.99"), 1);
    assert.equal(compare("1.50", "1.5"), 0);
  });
});

describe("the large-order confirmation threshold (SEN_CONFIRM_ORDER_VND)", () => {
  it("defaults to 100 million đồng, takes a whole number of đồng, and refuses anything else at start", async () => {
    const { envToConfig } = await import("../src/config/config.ts");
    const { readEnv } = await import("../src/config/env.ts");
    assert.equal(envToConfig(readEnv({})).confirmOrderVnd, "100000000");
    assert.equal(envToConfig(readEnv({ SEN_CONFIRM_ORDER_VND: "250000000000000000" })).confirmOrderVnd, "250000000000000000", "kept as a string: no float on the way");
    for (const bad of ["0", "1.5", "1e9", "-5", "100.000.000", ""]) {
      assert.throws(() => envToConfig(readEnv({ SEN_CONFIRM_ORDER_VND: bad })), /SEN_CONFIRM_ORDER_VND/, bad);
    }
  });
});
