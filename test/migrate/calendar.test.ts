/**
 * The one calendar rule the engine has, and the two readers of date text that rely on it: an inlined date (spec 0.3
 * parses it into a PostgreSQL date) and the canonical form of a timestamptz.
 */
import { describe, expect, it } from "vitest";
import { isCalendarDate, pad } from "../../migrate/calendar";
import { canonicalTimestamptz } from "../../migrate/canonical";
import { planInlinedDataTable } from "../../migrate/inlined";

const INLINED_DATE = planInlinedDataTable({
    table: "ducklake_inlined_data_1_1",
    specVersion: "0.3",
    columns: [{ name: "d", duckdbType: "date" }],
})[0];

describe("isCalendarDate", () => {
    it.each([
        [2024, 2, 29],
        [2000, 2, 29],
        [1, 1, 1],
        [9999, 12, 31],
        [2025, 4, 30],
    ])("accepts %i-%i-%i", (year, month, day) => {
        expect(isCalendarDate(year, month, day)).toBe(true);
    });

    it.each([
        [2025, 2, 29],
        [1900, 2, 29],
        [2025, 4, 31],
        [2025, 13, 1],
        [2025, 0, 1],
        [2025, 1, 0],
        [0, 1, 1],
        [10000, 1, 1],
    ])("refuses %i-%i-%i", (year, month, day) => {
        expect(isCalendarDate(year, month, day)).toBe(false);
    });
});

describe("the date text readers share it", () => {
    it.each(["2000-02-29", "2024-02-29", "0001-01-01"])("both accept %s", (date) => {
        expect(INLINED_DATE.encode(date)?.copy).toBe(date);
        expect(canonicalTimestamptz(`${date} 00:00:00+00`)).toBe(`${date} 00:00:00+00`);
    });

    it.each(["1900-02-29", "2025-02-29", "2025-06-31", "0000-01-01"])("both refuse %s", (date) => {
        expect(() => INLINED_DATE.encode(date)).toThrow("expected DuckDB's text of a date in years 1 to 9999");
        expect(canonicalTimestamptz(`${date} 00:00:00+00`)).toBeUndefined();
    });
});

describe("pad", () => {
    it("zero-pads numbers and bigints to the width, and leaves wider ones whole", () => {
        expect([pad(7, 2), pad(7n, 6), pad(2025, 4), pad(12345, 4)]).toEqual(["07", "000007", "2025", "12345"]);
    });
});
