import { CodedError } from "../../errors/SenError.ts";

export const SurveillanceCode = {
  /** A threshold or close time in the surveillance configuration is malformed. */
  BAD_CONFIG: "SURVEILLANCE_BAD_CONFIG",
} as const;
export type SurveillanceCode = (typeof SurveillanceCode)[keyof typeof SurveillanceCode];

export class SurveillanceError extends CodedError<SurveillanceCode> {
  override name = "SurveillanceError" as const;
}
