/**
 * The two halves of the verification must agree with the server: the JavaScript hashtextextended against
 * PostgreSQL's, and the timestamp normalisation against PostgreSQL's own parsing and output.
 */
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { canonicalTimestamptz, copyEscape, sqliteNeedsCanonicalTimestamptz } from "../../migrate/canonical";
import { DigestAccumulator, pgHashTextExtended, sumModulo64 } from "../../migrate/digest";
import { superuserClient } from "../support/postgres";

let client: Client;

beforeAll(async () => {
    client = await superuserClient();
    await client.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'");
});

afterAll(async () => {
    await client?.end();
});

/** Deterministic pseudo-random strings of every length 0..200, with ASCII, Latin, CJK and astral characters. */
function sampleStrings(): string[] {
    let state = 42;
    const next = () => {
        state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
        return state / 2 ** 31;
    };
    const ranges = [
        [0x20, 0x7e],
        [0xa0, 0x24f],
        [0x4e00, 0x9fff],
        [0x1f300, 0x1faff],
        [0x01, 0x1f],
    ];
    const strings: string[] = [];
    for (let length = 0; length <= 200; length++) {
        for (let copy = 0; copy < 3; copy++) {
            let text = "";
            while (text.length < length) {
                const [low, high] = ranges[Math.floor(next() * ranges.length)];
                text += String.fromCodePoint(low + Math.floor(next() * (high - low)));
            }
            strings.push(text);
        }
    }
    return strings;
}

describe("hashtextextended(line, 0) in JavaScript", () => {
    it("equals the server's on 600 strings of lengths 0..200, including non-ASCII", async () => {
        const strings = sampleStrings();
        const server = await client.query<{ hash: string }>(
            "SELECT hashtextextended(s, 0)::text AS hash FROM unnest($1::text[]) WITH ORDINALITY AS t(s, i) ORDER BY i",
            [strings],
        );
        const ours = strings.map((text) => pgHashTextExtended(Buffer.from(text, "utf8")).toString());
        expect(ours).toEqual(server.rows.map((row) => row.hash));
    });

    it("sums to what sum(hashtextextended(...)) gives, modulo 2^64", async () => {
        const strings = sampleStrings().filter((text) => !text.includes("\n"));
        const digest = new DigestAccumulator();
        digest.addLines(Buffer.from(strings.map((text) => `${text}\n`).join(""), "utf8"));
        const server = await client.query<{ sum: string }>(
            "SELECT sum(hashtextextended(s, 0))::text AS sum FROM unnest($1::text[]) AS s",
            [strings],
        );
        expect(digest.digest()).toEqual({ rows: strings.length, sum: sumModulo64(server.rows[0].sum) });
    });
});

describe("canonicalTimestamptz", () => {
    const samples = [
        "2025-10-24 09:19:58.011998+00",
        "2025-10-24 09:19:58+00",
        "2025-10-24 09:19:58.5+00",
        "2026-11-25 23:02:41.704962-05",
        "2025-10-24 14:49:58.011998+05:30",
        "2025-12-31 23:30:00.000100-09:30",
        "2024-02-29 00:15:00.1+05:45",
        "0001-01-01 05:00:00+05",
        "2025-01-01 00:00:00-00:53:28",
        "1999-12-31 23:59:59.999999-12",
        "2025-06-30 12:00:00.100000+14",
    ];

    it("gives exactly PostgreSQL's UTC output of the parsed value", async () => {
        const server = await client.query<{ text: string }>(
            "SELECT s::timestamptz::text AS text FROM unnest($1::text[]) WITH ORDINALITY AS t(s, i) ORDER BY i",
            [samples],
        );
        expect(samples.map(canonicalTimestamptz)).toEqual(server.rows.map((row) => row.text));
    });

    it("is skipped by SQLite exactly for text that already is PostgreSQL's UTC output", async () => {
        const texts = [
            ...samples,
            "2025-10-24 09:19:58.50+00",
            "2025-10-24 09:19:58.000000+00",
            "2025-10-24 09:19:58.1234567+00",
            "2025-10-24 24:00:00+00",
            "2025-10-24 09:19:58+00:00",
            "0999-01-01 00:00:00.000001+00",
            "2025-10-24 09:19:58+00 BC",
        ];
        const db = new DatabaseSync(":memory:");
        try {
            db.exec("CREATE TABLE t(i INTEGER, snapshot_time VARCHAR)");
            const insert = db.prepare("INSERT INTO t VALUES (?, ?)");
            texts.forEach((text, index) => insert.run(index, text));
            const skipped = db
                .prepare(`SELECT snapshot_time FROM t WHERE ${sqliteNeedsCanonicalTimestamptz("snapshot_time")} = 0`)
                .all()
                .map((row) => String(row.snapshot_time));
            expect(skipped).toEqual(texts.filter((text) => canonicalTimestamptz(text) === text));
            expect(skipped).toEqual([
                "2025-10-24 09:19:58.011998+00",
                "2025-10-24 09:19:58+00",
                "2025-10-24 09:19:58.5+00",
                "0999-01-01 00:00:00.000001+00",
            ]);
            const server = await client.query<{ text: string }>(
                "SELECT s::timestamptz::text AS text FROM unnest($1::text[]) WITH ORDINALITY AS t(s, i) ORDER BY i",
                [skipped],
            );
            expect(server.rows.map((row) => row.text)).toEqual(skipped);
            expect(
                db
                    .prepare(
                        `SELECT ${sqliteNeedsCanonicalTimestamptz("snapshot_time")} AS n FROM (SELECT NULL AS snapshot_time)`,
                    )
                    .get(),
            ).toEqual({ n: 0 });
        } finally {
            db.close();
        }
    });

    it.each([
        "2025-10-24 09:19:58",
        "2025-10-24T09:19:58+00",
        "2025-02-30 00:00:00+00",
        "2025-10-24 24:00:00+00",
        "2025-10-24 09:19:58.1234567+00",
        "infinity",
        "",
        "2025-10-24 09:19:58+00 BC",
        "2025-10-24 09:19:58+05:75",
        "2025-10-24 09:19:58+16",
        "9999-12-31 23:30:00-01",
    ])("refuses %j rather than guess", (text) => {
        expect(canonicalTimestamptz(text)).toBeUndefined();
    });
});

it("copyEscape escapes exactly what COPY text format needs", () => {
    expect(copyEscape("a\\b\tc\nd\re'\"é")).toBe("a\\\\b\\tc\\nd\\re'\"é");
});
