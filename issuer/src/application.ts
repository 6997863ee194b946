/**
 * The applicant's submission (ApplicationInput) and its checks: formats (zod), the ID number's
 * structure against date of birth and sex (idNumber.ts), and age. Every refusal names the field
 * and never repeats what was typed: the input is personal data.
 */
import { z } from "zod/v4";
import { checkIdNumber } from "./idNumber.ts";
import type { ApplicationInput } from "./types.ts";

export const MIN_AGE = 18;
/** Ages and "today" are Viet Nam's calendar (UTC+7, no daylight saving), where the applicant lives. */
const VIET_NAM_OFFSET_MS = 7 * 3600_000;

const hash = (what: string) => z.string().regex(/^0x[0-9a-fA-F]{64}$/, `${what}: must be 0x followed by 64 hex digits`);

/** Whether y-m-d is a day of the Gregorian calendar (2023-02-29 is not). */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

// Letters of any script incl. Vietnamese diacritics (precomposed after NFC, or combining marks
// a keyboard may still leave), single spaces between words.
const NAME = /^[\p{L}\p{M}]+(?: [\p{L}\p{M}]+)*$/u;

export const applicationSchema = z
  .object({
    idNumber: z.string().regex(/^\d{12}$/, "idNumber: must be exactly 12 digits"),
    fullName: z
      .string()
      .transform((s) => s.normalize("NFC").trim().replace(/\s+/g, " "))
      .pipe(
        z
          .string()
          .min(2, "fullName: must be 2 to 100 characters")
          .max(100, "fullName: must be 2 to 100 characters")
          .regex(NAME, "fullName: only letters (Vietnamese diacritics included) and spaces"),
      ),
    dateOfBirth: z.string().refine(isCalendarDate, "dateOfBirth: must be a real date YYYY-MM-DD"),
    sex: z.enum(["male", "female"], "sex: must be male or female"),
    nationality: z.number("nationality: must be an ISO 3166-1 numeric code (1-999)").int("nationality: must be an ISO 3166-1 numeric code (1-999)").min(1, "nationality: must be an ISO 3166-1 numeric code (1-999)").max(999, "nationality: must be an ISO 3166-1 numeric code (1-999)"),
    chipDataHash: hash("chipDataHash"),
    verification: z.strictObject({
      provider: z.string().min(1, "verification.provider: required").max(100, "verification.provider: at most 100 characters"),
      sessionId: z.string().min(1, "verification.sessionId: required").max(200, "verification.sessionId: at most 200 characters"),
    }),
    investorType: z.enum(["retail", "professional", "institutional"], "investorType: must be retail, professional or institutional"),
    investorEvidence: z
      .strictObject({
        kind: z.string().min(1, "investorEvidence.kind: required").max(100, "investorEvidence.kind: at most 100 characters"),
        documentHash: hash("investorEvidence.documentHash"),
        description: z.string().max(1000, "investorEvidence.description: at most 1000 characters"),
      })
      .optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.investorType !== "retail" && a.investorEvidence === undefined)
      ctx.addIssue({ code: "custom", path: ["investorEvidence"], message: `investorEvidence: required for a ${a.investorType} investor` });
  });

/** Whole years between the date of birth and today in Viet Nam; the birthday itself counts (29 February: from 1 March in other years). */
export function ageOn(dateOfBirth: string, nowMs: number): number {
  const [by, bm, bd] = dateOfBirth.split("-").map(Number);
  const today = new Date(nowMs + VIET_NAM_OFFSET_MS);
  const [ty, tm, td] = [today.getUTCFullYear(), today.getUTCMonth() + 1, today.getUTCDate()];
  const hadBirthday = tm > bm || (tm === bm && td >= bd);
  return ty - by - (hadBirthday ? 0 : 1);
}

export type ApplicationCheck = { ok: true; value: ApplicationInput } | { ok: false; field: string; message: string };

function fieldOf(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys") path.push(issue.keys[0]);
  return path.join(".") || "body";
}

/** Checks a submission at `nowMs`: the first problem found, or the normalised input. */
export function checkApplication(input: unknown, nowMs: number): ApplicationCheck {
  const parsed = applicationSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = fieldOf(issue);
    // zod's own messages (wrong type, unknown key) name the field but not the value; ours already start with it.
    const message = issue.message.startsWith(`${field}:`) ? issue.message : `${field}: ${issue.message}`;
    return { ok: false, field, message };
  }
  const value = parsed.data as ApplicationInput;
  const id = checkIdNumber(value.idNumber, value.dateOfBirth, value.sex);
  if (id) return { ok: false, field: id.field, message: id.message };
  if (ageOn(value.dateOfBirth, nowMs) < MIN_AGE) return { ok: false, field: "dateOfBirth", message: `dateOfBirth: the applicant must be at least ${MIN_AGE} years old` };
  return { ok: true, value };
}
