import { DEVELOPMENT_PROVIDER_NAME } from "../../src/provider.ts";
import type { ApplicationInput } from "../../src/types.ts";

/**
 * An applicant with a structurally valid ID number: Hà Nội (001), a woman born in 1990
 * (century/sex digit 1, year 90), verified by the development provider's session-1.
 */
export const PERSON: ApplicationInput = {
  idNumber: "001190123456",
  fullName: "Nguyễn Thị Bích Ngọc",
  dateOfBirth: "1990-05-17",
  sex: "female",
  nationality: 704,
  chipDataHash: `0x${"ab".repeat(32)}`,
  verification: { provider: DEVELOPMENT_PROVIDER_NAME, sessionId: "session-1" },
  investorType: "retail",
};
