/**
 * An order-independent digest of a table: the row count and the sum, modulo 2^64, of a 64-bit hash of each row's
 * canonical line. The hash is PostgreSQL's `hashtextextended(line, 0)` (the lookup3-based hash_bytes_extended with
 * seed 0, little-endian), reimplemented here so that the source side is computed in this process from source values,
 * while the target side is one aggregate query over the typed columns.
 */

export interface Digest {
    rows: number;
    /** Sum of the row hashes modulo 2^64, as an unsigned integer. */
    sum: bigint;
}

const TWO_POW_32 = 2 ** 32;
const TWO_POW_64 = 2n ** 64n;

// Partial sums stay below 2^53 (exact in a double) when folded at least every 2^20 rows.
const FOLD_EVERY_ROWS = 1 << 20;

export class DigestAccumulator {
    private rows = 0;
    private high = 0;
    private low = 0;
    private total = 0n;
    private sinceFold = 0;

    get rowCount(): number {
        return this.rows;
    }

    /** Adds the row whose canonical line is bytes[start, end) (UTF-8, no trailing newline). */
    addLine(bytes: Uint8Array, start: number, end: number): void {
        hashBytes(bytes, start, end);
        this.high += hashResult[0];
        this.low += hashResult[1];
        this.rows += 1;
        if (++this.sinceFold === FOLD_EVERY_ROWS) {
            this.fold();
        }
    }

    /** Adds every newline-terminated line of `bytes`. */
    addLines(bytes: Uint8Array): void {
        let start = 0;
        for (let index = bytes.indexOf(10); index !== -1; index = bytes.indexOf(10, start)) {
            this.addLine(bytes, start, index);
            start = index + 1;
        }
    }

    digest(): Digest {
        this.fold();
        return { rows: this.rows, sum: this.total };
    }

    private fold(): void {
        this.total = (this.total + BigInt(this.high) * BigInt(TWO_POW_32) + BigInt(this.low)) % TWO_POW_64;
        this.high = 0;
        this.low = 0;
        this.sinceFold = 0;
    }
}

/** PostgreSQL's `hashtextextended(text, 0)` of the UTF-8 bytes, as a signed 64-bit integer (what the server prints). */
export function pgHashTextExtended(bytes: Uint8Array): bigint {
    hashBytes(bytes, 0, bytes.length);
    return BigInt.asIntN(64, (BigInt(hashResult[0]) << 32n) | BigInt(hashResult[1]));
}

/** Reduces a `sum(hashtextextended(...))` as PostgreSQL prints it (a numeric) to the unsigned sum modulo 2^64. */
export function sumModulo64(numericText: string | null): bigint {
    if (numericText === null) {
        return 0n;
    }
    return ((BigInt(numericText) % TWO_POW_64) + TWO_POW_64) % TWO_POW_64;
}

/** The two 32-bit halves (high, low) of the last hash; reused to keep the per-row path allocation-free. */
const hashResult = new Uint32Array(2);

function rotate(value: number, bits: number): number {
    return (value << bits) | (value >>> (32 - bits));
}

function word(bytes: Uint8Array, at: number): number {
    return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
}

function hashBytes(bytes: Uint8Array, start: number, end: number): void {
    let remaining = end - start;
    let a = (0x9e3779b9 + remaining + 3923095) | 0;
    let b = a;
    let c = a;
    let at = start;
    while (remaining >= 12) {
        a = (a + word(bytes, at)) | 0;
        b = (b + word(bytes, at + 4)) | 0;
        c = (c + word(bytes, at + 8)) | 0;
        a = (a - c) | 0;
        a ^= rotate(c, 4);
        c = (c + b) | 0;
        b = (b - a) | 0;
        b ^= rotate(a, 6);
        a = (a + c) | 0;
        c = (c - b) | 0;
        c ^= rotate(b, 8);
        b = (b + a) | 0;
        a = (a - c) | 0;
        a ^= rotate(c, 16);
        c = (c + b) | 0;
        b = (b - a) | 0;
        b ^= rotate(a, 19);
        a = (a + c) | 0;
        c = (c - b) | 0;
        c ^= rotate(b, 4);
        b = (b + a) | 0;
        at += 12;
        remaining -= 12;
    }
    // The tail: bytes 0-3 go to a, 4-7 to b and 8-10 to c above its lowest byte, all little-endian.
    for (let offset = remaining - 1; offset >= 0; offset--) {
        const byte = bytes[at + offset];
        if (offset >= 8) {
            c = (c + (byte << (8 * (offset - 7)))) | 0;
        } else if (offset >= 4) {
            b = (b + (byte << (8 * (offset - 4)))) | 0;
        } else {
            a = (a + (byte << (8 * offset))) | 0;
        }
    }
    c ^= b;
    c = (c - rotate(b, 14)) | 0;
    a ^= c;
    a = (a - rotate(c, 11)) | 0;
    b ^= a;
    b = (b - rotate(a, 25)) | 0;
    c ^= b;
    c = (c - rotate(b, 16)) | 0;
    a ^= c;
    a = (a - rotate(c, 4)) | 0;
    b ^= a;
    b = (b - rotate(a, 14)) | 0;
    c ^= b;
    c = (c - rotate(b, 24)) | 0;
    hashResult[0] = b;
    hashResult[1] = c;
}
