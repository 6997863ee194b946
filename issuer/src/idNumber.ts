/**
 * Viet Nam's 12-digit personal identification number (số định danh cá nhân, printed on the
 * căn cước card): Decree 137/2015/ND-CP and Circular 07/2016/TT-BCA as amended (Circular
 * 59/2021/TT-BCA). Only its structure can be checked offline; whether the number exists is
 * the provider's business (the chip read).
 *
 *   digits 1-3   the province/city where the birth was registered (PROVINCE_CODES)
 *   digit  4     century and sex: 0/1 = 1900s male/female, 2/3 = 2000s, 4/5 = 2100s, 6/7 = 2200s, 8/9 = 2300s
 *   digits 5-6   the last two digits of the birth year
 *   digits 7-12  random
 */
import type { Sex } from "./types.ts";

/**
 * Appendix 1 of Circular 07/2016/TT-BCA (the 63 codes; the numbering leaves gaps, and a gap
 * is not a province). Cross-checked against the published table (thuvienphapluat.vn).
 */
export const PROVINCE_CODES: Readonly<Record<string, string>> = {
  "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
  "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
  "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
  "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
  "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
  "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
  "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
  "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
  "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
  "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh",
  "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long",
  "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
  "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
};

/** Which part of the number disagrees; `field` is the form field the applicant should look at. */
export type IdNumberRule = "format" | "province" | "sex" | "century" | "year";
export type IdNumberError = { field: "idNumber" | "dateOfBirth"; rule: IdNumberRule; message: string };

const FIRST_CENTURY = 1900;
const MAX_CENTURY_INDEX = 4; // 2300s, the last the digit can encode

/** The century/sex digit for a birth year and sex; null outside the 1900-2399 the digit can encode. */
export function centurySexDigit(year: number, sex: Sex): number | null {
  const index = Math.floor((year - FIRST_CENTURY) / 100);
  if (index < 0 || index > MAX_CENTURY_INDEX) return null;
  return index * 2 + (sex === "female" ? 1 : 0);
}

function birthYear(dateOfBirth: string): number | null {
  const m = /^(\d{4})-\d{2}-\d{2}$/.exec(dateOfBirth);
  return m ? Number(m[1]) : null;
}

/**
 * Whether the number's structure agrees with the date of birth and sex. Messages describe the
 * disagreement in words and never repeat the number or the date (they are personal data).
 */
export function checkIdNumber(idNumber: string, dateOfBirth: string, sex: Sex): IdNumberError | null {
  if (!/^\d{12}$/.test(idNumber)) return { field: "idNumber", rule: "format", message: "idNumber: must be exactly 12 digits" };
  if (PROVINCE_CODES[idNumber.slice(0, 3)] === undefined)
    return { field: "idNumber", rule: "province", message: "idNumber: the first three digits are not a province or city code (Circular 07/2016)" };
  const year = birthYear(dateOfBirth);
  if (year === null) return { field: "dateOfBirth", rule: "format", message: "dateOfBirth: must be a date YYYY-MM-DD" };
  const digit = Number(idNumber[3]);
  const digitSex: Sex = digit % 2 === 1 ? "female" : "male";
  if (digitSex !== sex)
    return { field: "idNumber", rule: "sex", message: `idNumber: the century/sex digit says ${digitSex}, the application says ${sex}` };
  const expected = centurySexDigit(year, sex);
  if (expected === null) return { field: "dateOfBirth", rule: "century", message: "dateOfBirth: the year is outside what an identification number can encode" };
  if (digit !== expected) {
    const said = FIRST_CENTURY + Math.floor(digit / 2) * 100;
    return { field: "idNumber", rule: "century", message: `idNumber: the century/sex digit says born in the ${said}s, the date of birth says otherwise` };
  }
  if (idNumber.slice(4, 6) !== String(year % 100).padStart(2, "0"))
    return { field: "idNumber", rule: "year", message: "idNumber: digits 5-6 do not match the last two digits of the birth year" };
  return null;
}
