import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SourceCatalog } from "../../migrate/source";

let dir: string;
let file: string;

beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-source-"));
    file = path.join(dir, "rows.sqlite");
    const db = new DatabaseSync(file);
    db.exec("CREATE TABLE t(v VARCHAR)");
    const insert = db.prepare("INSERT INTO t(rowid, v) VALUES (?, ?)");
    for (const rowid of [-(2n ** 63n), -5n, 0n, 2n ** 63n - 1n]) {
        insert.run(rowid, `edge ${rowid}`);
    }
    for (let index = 1; index <= 3000; index++) {
        // Widths vary by three orders of magnitude, so the adaptive batch size changes along the way.
        insert.run(index * 7, `${index}:${"x".repeat(index % 1000 === 0 ? 100_000 : index % 50)}`);
    }
    db.close();
});

afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
});

it("lineBatches yields every row exactly once, from rowid -2^63 to 2^63-1, in batches near the size asked for", () => {
    const source = SourceCatalog.open(file);
    try {
        source.beginRead();
        const read = [...source.lineBatches("t", "v", 4096, "length(v) > 40")];
        const batches = read.map(({ text }) => text);
        const lines = batches.flatMap((text) => text.slice(0, -1).split("\n"));
        expect(lines).toHaveLength(3004);
        expect(new Set(lines).size).toBe(3004);
        expect(lines.slice(0, 4)).toEqual([`edge ${-(2n ** 63n)}`, "edge -5", "edge 0", "1:x"]);
        expect(lines.at(-1)).toBe(`edge ${2n ** 63n - 1n}`);
        expect(batches.every((text) => text.endsWith("\n"))).toBe(true);
        expect(batches.length).toBeGreaterThan(10);
        expect(batches.filter((text) => text.length > 3 * 4096 && !text.includes("x".repeat(100_000)))).toEqual([]);
        // Each batch counts its own rows.
        expect(read.map(({ counted }) => counted)).toEqual(
            batches.map((text) => text.split("\n").filter((line) => line.length > 40).length),
        );
        expect(lines.filter((line) => line.length > 40).length).toBeGreaterThan(100);
    } finally {
        source.close();
    }
});
