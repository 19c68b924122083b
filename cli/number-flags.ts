/** Number-valued CLI flags: parsed, range-checked, refused with a CliError that names the flag. */
import { CliError } from "./hub-target.js";

/** A finite number. */
export function numberFlag(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value))
    throw new CliError(`${flag} needs a number, got "${text}"`);
  return value;
}

/** A whole number from `min` to `max`. */
export function integerFlag(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = numberFlag(flag, text);
  if (!Number.isInteger(value) || value < min || value > max) {
    const range =
      max !== Number.MAX_SAFE_INTEGER
        ? `a whole number from ${min} to ${max}`
        : min === 0
          ? "a non-negative integer"
          : min === 1
            ? "a positive integer"
            : `a whole number >= ${min}`;
    throw new CliError(`${flag} takes ${range}, got "${text}"`);
  }
  return value;
}

/** A positive (or, with `allowZero`, non-negative) integer; undefined when the flag is absent. */
export function positiveInt(value: string | undefined, flag: string, allowZero = false): number | undefined {
  return value === undefined ? undefined : integerFlag(flag, value, allowZero ? 0 : 1);
}
