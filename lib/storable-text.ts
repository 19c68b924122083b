/**
 * Text PostgreSQL cannot store: `text` and `jsonb` refuse U+0000, and jsonb refuses `\uD800`-style
 * escapes of a lone UTF-16 surrogate (Node would otherwise write them as U+FFFD, silently changing
 * the value). Edges refuse such input up front so it never reaches a statement; logs and audit
 * rows that must keep whatever a caller sent use `toStorableText`.
 */

/** A NUL, or a high surrogate not followed by a low one, or a low one not after a high one. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this looks for.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this looks for.
const UNSTORABLE_GLOBAL = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Why a string cannot be stored, or undefined when it can. */
export function unstorableReason(text: string): string | undefined {
  const match = UNSTORABLE.exec(text);
  if (!match) return undefined;
  return match[0] === "\u0000" ? "contains a NUL character (U+0000)" : "contains a lone UTF-16 surrogate";
}

/** The first path (e.g. `$.tags.site`) in a JSON value whose key or string value cannot be stored. */
export function findUnstorable(value: unknown, path = "$"): { path: string; reason: string } | undefined {
  if (typeof value === "string") {
    const reason = unstorableReason(value);
    return reason ? { path, reason } : undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorable(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      const keyReason = unstorableReason(key);
      if (keyReason) return { path: `${path} (a key)`, reason: keyReason };
      const found = findUnstorable(inner, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

/** The text with unstorable characters replaced by U+FFFD and cut to `max` characters. */
export function toStorableText(text: string, max = 512): string {
  const clean = text.replace(UNSTORABLE_GLOBAL, "\uFFFD");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** A JSON value with every key and string made storable (each string cut to `max`). */
export function toStorableJson(value: unknown, max = 512): unknown {
  if (typeof value === "string") return toStorableText(value, max);
  if (Array.isArray(value)) return value.map((inner) => toStorableJson(inner, max));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [toStorableText(key, max), toStorableJson(inner, max)]),
    );
  }
  return value;
}
