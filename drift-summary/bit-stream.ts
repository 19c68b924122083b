/**
 * Bit-level writer and reader for compact wire encodings (drift-summary/codec.ts): plain bit
 * fields, Rice codes (a unary quotient and k low bits: near-optimal for residuals of a known
 * scale), order-0 Exp-Golomb codes (no parameter: 1 bit for zero) and zigzag for signed values.
 * Values are JS numbers up to Number.MAX_SAFE_INTEGER: 32-bit bit operations only on pieces of at
 * most 24 bits, joined by arithmetic, so large counts survive. The reader never takes bits past its
 * buffer: a short or inconsistent stream is a BitStreamError.
 */

/** A stream that ended early, or holds a value no writer would have written. */
export class BitStreamError extends Error {
  override readonly name = "BitStreamError";
}

/** Longest Rice quotient written in unary; larger values go through the escape (Exp-Golomb). */
const RICE_ESCAPE = 24;
/** Bits of the largest safe integer. */
const MAX_BITS = 53;

/** Signed → unsigned: 0, −1, 1, −2, 2 … → 0, 1, 2, 3, 4 … */
export function zigzag(x: number): number {
  return x >= 0 ? 2 * x : -2 * x - 1;
}

export function unzigzag(u: number): number {
  // 32-bit operations for the common small values (`%` on a double can be a library call).
  if (u <= 0x7fffffff) return (u >>> 1) ^ -(u & 1);
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/** 2^0 … 2^53, looked up on the reader's hot paths instead of `**`. */
const POW2 = Array.from({ length: 54 }, (_, n) => 2 ** n);

/** Bits needed for v ≥ 0 (0 for 0). */
function bitLength(v: number): number {
  let n = 0;
  while (v >= 1) {
    v = Math.floor(v / 2);
    n++;
  }
  return n;
}

/** Bits one Rice code of u takes with parameter k (the escape included). */
export function riceBits(u: number, k: number): number {
  const q = Math.floor(u / 2 ** k);
  return q < RICE_ESCAPE ? q + 1 + k : RICE_ESCAPE + expGolombBits(u);
}

/** Bits one order-0 Exp-Golomb code of u takes. */
export function expGolombBits(u: number): number {
  return 2 * bitLength(u + 1) - 1;
}

export class BitWriter {
  #bytes: number[] = [];
  #current = 0;
  #used = 0;

  /** Writes the low `n` bits of v (0 ≤ v < 2^n, n ≤ 53), most significant first. */
  bits(v: number, n: number): void {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** n || n > MAX_BITS) {
      throw new RangeError(`cannot write ${v} in ${n} bits`);
    }
    for (let i = n - 1; i >= 0; i--) this.bit(Math.floor(v / 2 ** i) % 2);
  }

  bit(b: number): void {
    this.#current = (this.#current << 1) | (b & 1);
    if (++this.#used === 8) {
      this.#bytes.push(this.#current);
      this.#current = 0;
      this.#used = 0;
    }
  }

  /** Rice code of u ≥ 0: quotient u >> k in unary (ones, then a zero), then k low bits. */
  rice(u: number, k: number): void {
    const q = Math.floor(u / 2 ** k);
    if (q >= RICE_ESCAPE) {
      for (let i = 0; i < RICE_ESCAPE; i++) this.bit(1);
      this.expGolomb(u);
      return;
    }
    for (let i = 0; i < q; i++) this.bit(1);
    this.bit(0);
    this.bits(u - q * 2 ** k, k);
  }

  /** Order-0 Exp-Golomb code of u ≥ 0: bitLength(u+1) − 1 zeros, then u + 1. */
  expGolomb(u: number): void {
    if (!Number.isSafeInteger(u) || u < 0 || u + 1 > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`cannot write ${u}: not a safe non-negative integer`);
    }
    const length = bitLength(u + 1);
    for (let i = 1; i < length; i++) this.bit(0);
    this.bits(u + 1, length);
  }

  /** The bytes written, the last one padded with zero bits. */
  finish(): Uint8Array {
    const out = [...this.#bytes];
    if (this.#used > 0) out.push(this.#current << (8 - this.#used));
    return Uint8Array.from(out);
  }
}

/** Bits `BitReader` peeks at once: a 32-bit word holds 24 bits at any bit offset (≤ 7) within its first byte. */
const PEEK_BITS = 24;

/**
 * Reads what BitWriter wrote. Hot on the hub (every packed drift summary), so fields are taken up
 * to 24 bits at a time from a 32-bit window rather than bit by bit, and unary runs are counted with
 * Math.clz32. The bytes are copied behind 4 zero bytes of padding so the window never reads past
 * the array; every read checks against the real length, so padding is never taken for data.
 */
export class BitReader {
  readonly #bytes: Uint8Array;
  readonly #length: number;
  #position = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = new Uint8Array(bytes.length + 4);
    this.#bytes.set(bytes);
    this.#length = bytes.length * 8;
  }

  /** The next n ≤ 24 bits (zeros past the end), without consuming them. */
  #peek(n: number): number {
    if (n === 0) return 0;
    const p = this.#position;
    const b = this.#bytes;
    const i = p >>> 3;
    const word = (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
    return (word << (p & 7)) >>> (32 - n);
  }

  bit(): number {
    const p = this.#position;
    if (p >= this.#length) throw new BitStreamError("the packed data ends early");
    this.#position = p + 1;
    return (this.#bytes[p >>> 3]! >>> (7 - (p & 7))) & 1;
  }

  /** The next n ≤ 53 bits as an unsigned integer, most significant first. */
  bits(n: number): number {
    if (this.#position + n > this.#length) throw new BitStreamError("the packed data ends early");
    if (n <= PEEK_BITS) {
      const v = this.#peek(n);
      this.#position += n;
      return v;
    }
    let v = 0;
    while (n > 0) {
      const chunk = n < PEEK_BITS ? n : PEEK_BITS;
      v = v * POW2[chunk]! + this.#peek(chunk);
      this.#position += chunk;
      n -= chunk;
    }
    return v;
  }

  rice(k: number): number {
    // Leading ones of the next 24 bits; padding past the end reads as zeros, so a run that stops
    // there is a stream that ended early.
    const window = this.#peek(PEEK_BITS);
    const q = Math.clz32(~window & 0xffffff) - (32 - PEEK_BITS);
    if (q >= RICE_ESCAPE) {
      this.#position += RICE_ESCAPE;
      return this.expGolomb();
    }
    if (this.#position + q >= this.#length) throw new BitStreamError("the packed data ends early");
    this.#position += q + 1;
    return q * POW2[k]! + this.bits(k);
  }

  expGolomb(): number {
    let zeros = 0;
    for (;;) {
      const left = this.#length - this.#position;
      const available = left < PEEK_BITS ? left : PEEK_BITS;
      if (available <= 0) throw new BitStreamError("the packed data ends early");
      const window = this.#peek(available);
      // Leading zeros among the bits really there (all of them when none is a one).
      const run = window === 0 ? available : Math.clz32(window) - (32 - available);
      if (zeros + run >= MAX_BITS) throw new BitStreamError("an Exp-Golomb code longer than 53 bits");
      zeros += run;
      if (run < available) {
        this.#position += run + 1; // the leading one
        break;
      }
      this.#position += run;
    }
    return POW2[zeros]! + this.bits(zeros) - 1;
  }

  /** Throws unless only zero padding (< 8 bits) is left: trailing data means a foreign stream. */
  end(): void {
    const left = this.#length - this.#position;
    if (left >= 8) throw new BitStreamError(`${Math.floor(left / 8)} bytes of trailing data`);
    if (this.#peek(left) !== 0) throw new BitStreamError("non-zero padding after the last field");
    this.#position += left;
  }
}

/** Mantissa bits below which the decimal code's order-k Exp-Golomb is cheapest (4–6 digit sums). */
const DECIMAL_ORDER = 10;

/** m·10^e = |x|, the shortest decimal JS prints for x, or null when that does not fit a safe integer. */
function decimalOf(x: number): { m: number; e: number } | null {
  const match = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(String(Math.abs(x)));
  if (!match) return null;
  const fraction = match[2] ?? "";
  let digits = (match[1]! + fraction).replace(/^0+/, "");
  let e = Number(match[3] ?? 0) - fraction.length;
  while (digits.length > 1 && digits.endsWith("0")) {
    digits = digits.slice(0, -1);
    e++;
  }
  const m = Number(digits);
  if (!Number.isSafeInteger(m) || m === 0 || Number(`${m}e${e}`) !== Math.abs(x)) return null;
  return { m, e };
}

/**
 * A finite float, exactly: one bit for +0; else a bit for the form, then either a decimal (sign,
 * mantissa as order-10 Exp-Golomb, exponent as a zigzag Exp-Golomb difference from `exponentGuess`)
 * or
 * the 64 IEEE bits when the shortest decimal does not fit (and for −0).
 */
export function writeFloat(w: BitWriter, x: number, exponentGuess = 0): void {
  if (!Number.isFinite(x)) throw new RangeError(`cannot write ${x}: not finite`);
  if (x === 0 && !Object.is(x, -0)) {
    w.bit(0);
    return;
  }
  w.bit(1);
  const decimal = decimalOf(x);
  if (decimal === null) {
    w.bit(1);
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, x);
    w.bits(view.getUint32(0), 32);
    w.bits(view.getUint32(4), 32);
    return;
  }
  w.bit(0);
  w.bit(x < 0 ? 1 : 0);
  w.expGolomb(Math.floor(decimal.m / 2 ** DECIMAL_ORDER));
  w.bits(decimal.m % 2 ** DECIMAL_ORDER, DECIMAL_ORDER);
  w.expGolomb(zigzag(decimal.e - exponentGuess));
}

/** Scratch for the IEEE form (readFloat runs synchronously, so one is enough). */
const FLOAT_VIEW = new DataView(new ArrayBuffer(8));
/** 10^0 … 10^22, the powers of ten a double holds exactly (by multiplication: `**` may round). */
const EXACT_POWERS_OF_TEN = [1];
for (let e = 1; e <= 22; e++) EXACT_POWERS_OF_TEN.push(EXACT_POWERS_OF_TEN[e - 1]! * 10);

/** m·10^e as JS parses `${m}e${e}`: one correctly rounded operation when both are exact doubles (Clinger's fast path). */
function decimalValue(m: number, e: number): number {
  if (m < 2 ** 53 && e >= -22 && e <= 22) {
    return e >= 0 ? m * EXACT_POWERS_OF_TEN[e]! : m / EXACT_POWERS_OF_TEN[-e]!;
  }
  return Number(`${m}e${e}`);
}

export function readFloat(r: BitReader, exponentGuess = 0): number {
  if (r.bit() === 0) return 0;
  let x: number;
  if (r.bit() === 1) {
    FLOAT_VIEW.setUint32(0, r.bits(32));
    FLOAT_VIEW.setUint32(4, r.bits(32));
    x = FLOAT_VIEW.getFloat64(0);
  } else {
    const negative = r.bit() === 1;
    const m = r.expGolomb() * 2 ** DECIMAL_ORDER + r.bits(DECIMAL_ORDER);
    if (!Number.isSafeInteger(m)) throw new BitStreamError("a decimal mantissa beyond 2^53");
    const magnitude = decimalValue(m, exponentGuess + unzigzag(r.expGolomb()));
    x = negative ? -magnitude : magnitude;
  }
  if (!Number.isFinite(x)) throw new BitStreamError("a float that is not finite");
  return x;
}
