/**
 * The form's inline checks, the same rules the service applies (issuer/src/application.ts):
 * the ID number's structure comes from the server's own module; the rest mirrors its schema.
 * The server still decides; its field errors are shown beside the field too.
 */
import { checkIdNumber } from "../../src/idNumber.ts";
import type { MsgKey } from "./i18n.ts";

export type FormValues = {
  idNumber: string;
  fullName: string;
  dateOfBirth: string;
  sex: "" | "male" | "female";
  nationality: string;
  chipDataHash: string;
  sessionId: string;
  investorType: "retail" | "professional" | "institutional";
  evidenceKind: string;
  evidenceHash: string;
  evidenceDescription: string;
};
export type FieldErrors = Partial<Record<keyof FormValues, MsgKey>>;

const MIN_AGE = 18;
const VIET_NAM_OFFSET_MS = 7 * 3600_000;
const NAME = /^[\p{L}\p{M}]+(?: [\p{L}\p{M}]+)*$/u;
const HASH = /^0x[0-9a-fA-F]{64}$/;

function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** Whole years on Viet Nam's calendar, the birthday counting (as application.ts ageOn). */
function ageOn(dateOfBirth: string, nowMs: number): number {
  const [by, bm, bd] = dateOfBirth.split("-").map(Number) as [number, number, number];
  const today = new Date(nowMs + VIET_NAM_OFFSET_MS);
  const [ty, tm, td] = [today.getUTCFullYear(), today.getUTCMonth() + 1, today.getUTCDate()];
  return ty - by - (tm > bm || (tm === bm && td >= bd) ? 0 : 1);
}

export function normaliseName(s: string): string {
  return s.normalize("NFC").trim().replace(/\s+/g, " ");
}

export function validateForm(v: FormValues, nowMs: number): FieldErrors {
  const e: FieldErrors = {};
  if (!/^\d{12}$/.test(v.idNumber)) e.idNumber = v.idNumber === "" ? "required" : "idNumber.format";
  const name = normaliseName(v.fullName);
  if (name === "") e.fullName = "required";
  else if (name.length < 2 || name.length > 100 || !NAME.test(name)) e.fullName = "fullName.format";
  if (v.dateOfBirth === "") e.dateOfBirth = "required";
  else if (!isCalendarDate(v.dateOfBirth)) e.dateOfBirth = "dateOfBirth.format";
  if (v.sex === "") e.sex = "required";
  if (!e.idNumber && !e.dateOfBirth && v.sex !== "") {
    const id = checkIdNumber(v.idNumber, v.dateOfBirth, v.sex);
    if (id) e[id.field] = `${id.field}.${id.rule}` as MsgKey;
  }
  if (!e.dateOfBirth && ageOn(v.dateOfBirth, nowMs) < MIN_AGE) e.dateOfBirth = "dateOfBirth.age";
  if (v.nationality === "") e.nationality = "required";
  if (!HASH.test(v.chipDataHash)) e.chipDataHash = v.chipDataHash === "" ? "required" : "hash.format";
  if (v.sessionId.length < 1 || v.sessionId.length > 200) e.sessionId = v.sessionId === "" ? "required" : "sessionId.format";
  if (v.investorType !== "retail") {
    if (v.evidenceKind.trim() === "") e.evidenceKind = "evidence.required";
    if (!HASH.test(v.evidenceHash)) e.evidenceHash = v.evidenceHash === "" ? "evidence.required" : "hash.format";
  }
  return e;
}

/** The service's field name (application.ts / service.ts) → the form field it belongs beside. */
export function formFieldOf(serverField: string | undefined): keyof FormValues | null {
  if (!serverField) return null;
  const map: Record<string, keyof FormValues> = {
    idNumber: "idNumber",
    fullName: "fullName",
    dateOfBirth: "dateOfBirth",
    sex: "sex",
    nationality: "nationality",
    chipDataHash: "chipDataHash",
    verification: "sessionId",
    "verification.sessionId": "sessionId",
    "verification.provider": "sessionId",
    investorType: "investorType",
    investorEvidence: "evidenceKind",
    "investorEvidence.kind": "evidenceKind",
    "investorEvidence.documentHash": "evidenceHash",
    "investorEvidence.description": "evidenceDescription",
  };
  return map[serverField] ?? null;
}
