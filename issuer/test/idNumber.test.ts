import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { centurySexDigit, checkIdNumber, PROVINCE_CODES } from "../src/idNumber.ts";
import type { Sex } from "../src/types.ts";

const provinces = Object.keys(PROVINCE_CODES);
const nonProvinces = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0")).filter((c) => PROVINCE_CODES[c] === undefined);

const person = fc.record({
  province: fc.constantFrom(...provinces),
  // The digit encodes 1900-2399; the date itself need not be real for the structure check.
  date: fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2399-12-31T00:00:00Z"), noInvalidDate: true }),
  sex: fc.constantFrom<Sex>("male", "female"),
  random: fc.integer({ min: 0, max: 999_999 }),
});

function numberOf(p: { province: string; date: Date; sex: Sex; random: number }): { id: string; dob: string } {
  const year = p.date.getUTCFullYear();
  const id = p.province + String(centurySexDigit(year, p.sex)) + String(year % 100).padStart(2, "0") + String(p.random).padStart(6, "0");
  return { id, dob: p.date.toISOString().slice(0, 10) };
}

const replaceAt = (s: string, i: number, c: string) => s.slice(0, i) + c + s.slice(i + 1);

test("the 63 province codes of Circular 07/2016, 001 Hà Nội to 096 Cà Mau", () => {
  assert.equal(provinces.length, 63);
  assert.equal(PROVINCE_CODES["001"], "Hà Nội");
  assert.equal(PROVINCE_CODES["079"], "Hồ Chí Minh");
  assert.equal(PROVINCE_CODES["096"], "Cà Mau");
  assert.equal(PROVINCE_CODES["003"], undefined);
  assert.equal(PROVINCE_CODES["097"], undefined);
});

test("a number built from a valid province, date and sex passes; each single corruption fails naming its rule", () => {
  const seen = { valid: 0, format: 0, province: 0, sex: 0, century: 0, year: 0, centuries: new Set<number>() };
  fc.assert(
    fc.property(person, fc.nat(), (p, pick) => {
      const { id, dob } = numberOf(p);
      assert.equal(checkIdNumber(id, dob, p.sex), null);
      seen.valid++;
      seen.centuries.add(Math.floor(p.date.getUTCFullYear() / 100));
      const other: Sex = p.sex === "male" ? "female" : "male";

      // Format: a letter, a dropped digit, an extra digit.
      const formats = [replaceAt(id, pick % 12, "x"), id.slice(1), id + "0", ` ${id.slice(1)}`];
      for (const bad of formats) {
        const e = checkIdNumber(bad, dob, p.sex);
        assert.equal(e?.rule, "format");
        assert.equal(e?.field, "idNumber");
        seen.format++;
      }
      // Province: a code in a gap of the table.
      const e1 = checkIdNumber(nonProvinces[pick % nonProvinces.length] + id.slice(3), dob, p.sex);
      assert.equal(e1?.rule, "province");
      seen.province++;
      // Sex: the application says the other sex (the digit is unchanged).
      const e2 = checkIdNumber(id, dob, other);
      assert.equal(e2?.rule, "sex");
      assert.match(e2!.message, new RegExp(`says ${p.sex}, the application says ${other}`));
      seen.sex++;
      // Century: the digit moved to another century, same parity (same sex).
      const digit = Number(id[3]);
      const shifted = (digit + 2 * (1 + (pick % 4))) % 10;
      const e3 = checkIdNumber(replaceAt(id, 3, String(shifted)), dob, p.sex);
      assert.equal(e3?.rule, "century");
      seen.century++;
      // Year digits: any other two digits.
      const yy = Number(id.slice(4, 6));
      const otherYy = String((yy + 1 + (pick % 99)) % 100).padStart(2, "0");
      const e4 = checkIdNumber(id.slice(0, 4) + otherYy + id.slice(6), dob, p.sex);
      assert.equal(e4?.rule, "year");
      seen.year++;
      for (const e of [e1, e2, e3, e4]) {
        assert.equal(e?.field, "idNumber");
        assert.ok(!e!.message.includes(id.slice(0, 6)) && !e!.message.includes(dob), "no personal data in the message");
      }
    }),
    { numRuns: 500 },
  );
  assert.equal(seen.valid, 500);
  for (const k of ["format", "province", "sex", "century", "year"] as const) assert.ok(seen[k] >= 500, k);
  assert.ok(seen.centuries.size >= 4, `centuries exercised: ${[...seen.centuries]}`);
});

test("known examples: a woman born 1990 in Hà Nội, a man born 2001 in Hồ Chí Minh", () => {
  assert.equal(checkIdNumber("001190123456", "1990-05-17", "female"), null);
  assert.equal(checkIdNumber("079201000001", "2001-12-31", "male"), null);
  assert.equal(checkIdNumber("001090123456", "1990-05-17", "female")?.rule, "sex");
  assert.equal(checkIdNumber("001390123456", "1990-05-17", "female")?.rule, "century");
  assert.equal(checkIdNumber("001189123456", "1990-05-17", "female")?.rule, "year");
  assert.equal(checkIdNumber("001190123456", "1899-05-17", "female")?.field, "dateOfBirth");
});
