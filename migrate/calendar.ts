/**
 * Dates as DuckDB and PostgreSQL both print them: proleptic Gregorian, years 1 to 9999, zero-padded fields. Shared by
 * the canonical form of a timestamptz and the encodings of inlined dates and timestamps.
 */

/** The number in decimal, zero-padded on the left to `width` digits. */
export function pad(value: number | bigint, width: number): string {
    return value.toString().padStart(width, "0");
}

/** Whether year-month-day names a real day in years 1 to 9999 (29 February only in a leap year). */
export function isCalendarDate(year: number, month: number, day: number): boolean {
    return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function daysInMonth(year: number, month: number): number {
    return month === 2 ? (isLeapYear(year) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

function isLeapYear(year: number): boolean {
    return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
