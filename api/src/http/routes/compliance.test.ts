import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { AuditEvent } from "../../compliance/audit/auditEvent.ts";
import { CSV_COLUMNS, csvRow } from "./compliance.ts";

/** RFC 4180 fields of one row (quotes doubled inside quoted fields). */
function fields(row: string): string[] {
  const out: string[] = [];
  let i = 0;
  const text = row.endsWith("\n") ? row.slice(0, -1) : row;
  for (;;) {
    let v = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (text[q + 1] === '"') {
          v += text.slice(i, q + 1);
          i = q + 2;
        } else {
          v += text.slice(i, q);
          i = q + 1;
          break;
        }
      }
    } else {
      const c = text.indexOf(",", i);
      v = text.slice(i, c < 0 ? text.length : c);
      i = c < 0 ? text.length : c;
    }
    out.push(v);
    if (i >= text.length) return out;
    i++; // the comma
  }
}

const REASON = CSV_COLUMNS.indexOf("reason");
const reasonCell = (reason: string) => fields(csvRow({ seq: 1, id: "x", ts: "2026-12-02T00:00:00.000000Z", type: "deposit", reason } as AuditEvent))[REASON];

describe("compliance CSV export", () => {
  it("neutralises anything a spreadsheet could run as a formula, and only that", () => {
    assert.equal(reasonCell("-2+3+cmd|' /C calc'!A0"), "'-2+3+cmd|' /C calc'!A0");
    for (const f of ["=HYPERLINK(\"http://x\")", "+1+1", "@SUM(A1)", "\tx", "\rx", "\nx", "-x"]) assert.equal(reasonCell(f), `'${f}`, JSON.stringify(f));
    for (const n of ["-5", "-0.25", "10000", "0"]) assert.equal(reasonCell(n), n);
    assert.equal(reasonCell('a "quoted", line\nnext'), 'a "quoted", line\nnext');
  });

  it("keeps every value and the column count, and no cell opens a formula (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("=", "+", "-", "@", "\t", "\r", "\n", ",", '"', "'", "1", ".", "a", " ") }), (s) => {
        const cells = fields(csvRow({ seq: 1, id: "x", ts: "t", type: "deposit", reason: s } as AuditEvent));
        assert.equal(cells.length, CSV_COLUMNS.length);
        const cell = cells[REASON];
        const plainNumber = /^-?\d+(\.\d+)?$/.test(cell);
        assert.ok(plainNumber || !/^[=+\-@\t\r\n]/.test(cell), JSON.stringify(cell));
        assert.equal(cell.startsWith("'") && cell.slice(1) === s ? s : cell, s);
      }),
      { numRuns: 2000 },
    );
  });
});
