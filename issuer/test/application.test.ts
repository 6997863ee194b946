import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ageOn, checkApplication } from "../src/application.ts";
import type { ApplicationInput } from "../src/types.ts";

const NOW = Date.parse("2026-12-03T05:00:00Z"); // 12:00 in Viet Nam
const H = "0x" + "ab".repeat(32);
const good: ApplicationInput = {
  idNumber: "001190123456",
  fullName: "Nguyễn Thị Minh Khai",
  dateOfBirth: "1990-05-17",
  sex: "female",
  nationality: 704,
  chipDataHash: H as `0x${string}`,
  verification: { provider: "development (NOT FOR PRODUCTION)", sessionId: "s-1" },
  investorType: "retail",
};
const PII = [good.idNumber, good.fullName, good.dateOfBirth, "Nguyễn", "0011901"];

function refuses(input: unknown, field: string, now = NOW): string {
  const r = checkApplication(input, now);
  assert.equal(r.ok, false, `expected a refusal on ${field}`);
  if (r.ok) throw new Error("unreachable");
  assert.equal(r.field, field, r.message);
  assert.ok(r.message.startsWith(`${field}:`), r.message);
  for (const p of PII) assert.ok(!r.message.includes(p), `message echoes personal data: ${r.message}`);
  return r.message;
}

test("a good application passes; the name is NFC-normalised and its spaces collapsed", () => {
  const decomposed = "  Nguyễn   Thị Minh Khai ".normalize("NFD");
  const r = checkApplication({ ...good, fullName: decomposed }, NOW);
  assert.ok(r.ok);
  assert.equal(r.value.fullName, "Nguyễn Thị Minh Khai");
  assert.equal(r.value.fullName, r.value.fullName.normalize("NFC"));
});

test("each malformed field is refused, naming it and not its value", () => {
  refuses({ ...good, idNumber: "00119012345" }, "idNumber");
  refuses({ ...good, idNumber: 1190123456 }, "idNumber");
  refuses({ ...good, idNumber: "003190123456" }, "idNumber"); // 003 is a gap in the province table
  assert.match(refuses({ ...good, sex: "male" }, "idNumber"), /century\/sex digit says female, the application says male/);
  refuses({ ...good, idNumber: "001191123456" }, "idNumber"); // year digits 91 for 1990
  refuses({ ...good, fullName: "N" }, "fullName");
  refuses({ ...good, fullName: "x".repeat(101) }, "fullName");
  refuses({ ...good, fullName: "Nguyen 3" }, "fullName");
  refuses({ ...good, fullName: "Robert'); DROP TABLE" }, "fullName");
  refuses({ ...good, dateOfBirth: "1990-02-30" }, "dateOfBirth");
  refuses({ ...good, dateOfBirth: "17/05/1990" }, "dateOfBirth");
  refuses({ ...good, sex: "x" }, "sex");
  refuses({ ...good, nationality: 0 }, "nationality");
  refuses({ ...good, nationality: 1000 }, "nationality");
  refuses({ ...good, nationality: 70.4 }, "nationality");
  refuses({ ...good, nationality: "704" }, "nationality");
  refuses({ ...good, chipDataHash: "0x1234" }, "chipDataHash");
  refuses({ ...good, verification: { provider: "p" } }, "verification.sessionId");
  refuses({ ...good, verification: { ...good.verification, extra: 1 } }, "verification.extra");
  refuses({ ...good, investorType: "whale" }, "investorType");
  refuses({ ...good, investorType: "professional" }, "investorEvidence");
  refuses({ ...good, investorType: "institutional" }, "investorEvidence");
  refuses({ ...good, investorType: "professional", investorEvidence: { kind: "portfolio", documentHash: "0xzz", description: "" } }, "investorEvidence.documentHash");
  refuses({ ...good, isAdmin: true }, "isAdmin");
  refuses("not an object", "body");
  const { fullName: _, ...noName } = good;
  refuses(noName, "fullName");
  assert.ok(checkApplication({ ...good, investorType: "professional", investorEvidence: { kind: "portfolio", documentHash: H, description: "VND 2bn listed securities" } }, NOW).ok);
});

test("age: 18 on the 18th birthday in Viet Nam's calendar, not a day before", () => {
  // Born 2008-12-03: 18 on 2026-12-03 in Viet Nam; at 23:30 UTC on 2 December it is already the 3rd there.
  const dob = "2008-12-03";
  const id = "001308123456";
  const input = { ...good, idNumber: id, dateOfBirth: dob };
  assert.ok(checkApplication(input, Date.parse("2026-12-02T17:00:00Z")).ok, "00:00 on the birthday in Viet Nam");
  refuses(input, "dateOfBirth", Date.parse("2026-12-02T16:59:59Z"));
  // 29 February: the birthday falls on 1 March in other years.
  assert.equal(ageOn("2008-02-29", Date.parse("2026-02-28T05:00:00Z")), 17);
  assert.equal(ageOn("2008-02-29", Date.parse("2026-03-01T05:00:00Z")), 18);
  assert.equal(ageOn("2008-02-29", Date.parse("2028-02-29T05:00:00Z")), 20);
  assert.equal(ageOn("2008-02-29", Date.parse("2028-02-28T05:00:00Z")), 19);
});

test("property: age is at least 18 exactly when today is on or after the 18th anniversary", () => {
  let adults = 0, minors = 0;
  fc.assert(
    fc.property(
      fc.date({ min: new Date("1950-01-01T00:00:00Z"), max: new Date("2030-12-31T00:00:00Z"), noInvalidDate: true }),
      fc.integer({ min: -400, max: 400 }),
      (birth, days) => {
        const dob = birth.toISOString().slice(0, 10);
        const [y, m, d] = dob.split("-").map(Number);
        // The 18th anniversary; Date.UTC rolls 29 February over to 1 March when the year has none.
        const anniversary = new Date(Date.UTC(y + 18, m - 1, d));
        const todayVn = anniversary.getTime() + days * 86_400_000;
        const now = todayVn - 7 * 3600_000 + 3600_000; // 01:00 in Viet Nam that day
        const adult = ageOn(dob, now) >= 18;
        assert.equal(adult, days >= 0);
        adult ? adults++ : minors++;
      },
    ),
    { numRuns: 1000 },
  );
  assert.ok(adults > 100 && minors > 100, `${adults} adults, ${minors} minors`);
});
