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

/** How deep a JSON value may nest before it is refused (no API body needs more than a few levels). */
export const MAX_JSON_DEPTH = 64;

/**
 * The first place (e.g. `$.tags.site`) in a JSON value whose key or string value cannot be stored,
 * or that nests deeper than MAX_JSON_DEPTH. Iterative, so no input can exhaust the stack.
 */
export function findUnstorable(value: unknown): { path: string; reason: string } | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: "$", depth: 0 }];
  while (stack.length > 0) {
    const { value: item, path, depth } = stack.pop()!;
    if (typeof item === "string") {
      const reason = unstorableReason(item);
      if (reason) return { path, reason };
      continue;
    }
    if (item === null || typeof item !== "object") continue;
    if (depth >= MAX_JSON_DEPTH) return { path, reason: `nests deeper than ${MAX_JSON_DEPTH} levels` };
    if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--)
        stack.push({ value: item[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    for (const [key, inner] of Object.entries(item)) {
      const keyReason = unstorableReason(key);
      if (keyReason) return { path: `${path} (a key)`, reason: keyReason };
      stack.push({ value: inner, path: `${path}.${key}`, depth: depth + 1 });
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
