/**
 * Firmware profiles: JSON files in `profiles/<id>.json`, validated against schema.ts when read.
 * The folder is found next to this file or, from the compiled `dist/` tree, in the source tree,
 * so profiles are data that can be added without touching code.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { type FirmwareProfile, FirmwareProfileSchema, ProfileIdSchema } from "./schema.js";

export * from "./schema.js";

/** An id that names no profile file. */
export class UnknownProfileError extends Error {
  constructor(
    readonly profileId: string,
    known: readonly string[],
  ) {
    super(`unknown firmware profile "${profileId}"; known profiles: ${known.join(", ")}`);
    this.name = "UnknownProfileError";
  }
}

/** A profile file that does not match the schema (or its file name). */
export class InvalidProfileError extends Error {
  constructor(file: string, message: string) {
    super(`firmware profile ${file} is invalid: ${message}`);
    this.name = "InvalidProfileError";
  }
}

const CANDIDATES = ["./profiles/", "../../firmware-profiles/profiles/"];

/** The folder holding the profile files. */
export function profilesDir(): string {
  for (const relative of CANDIDATES) {
    const path = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`firmware profiles folder not found next to ${fileURLToPath(import.meta.url)}`);
}

let cache: Map<string, FirmwareProfile> | undefined;

/** Reads and validates one profile file; the id inside must equal the file name. */
export function parseProfileFile(file: string, text: string): FirmwareProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidProfileError(file, `not JSON: ${(error as Error).message}`);
  }
  const parsed = FirmwareProfileSchema.safeParse(json);
  if (!parsed.success) throw new InvalidProfileError(file, z.prettifyError(parsed.error));
  if (`${parsed.data.id}.json` !== file) {
    throw new InvalidProfileError(file, `id "${parsed.data.id}" does not match the file name`);
  }
  return parsed.data;
}

function load(): Map<string, FirmwareProfile> {
  if (cache) return cache;
  const dir = profilesDir();
  const profiles = new Map<string, FirmwareProfile>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const profile = parseProfileFile(file, readFileSync(`${dir}${file}`, "utf8"));
    profiles.set(profile.id, profile);
  }
  cache = profiles;
  return profiles;
}

/** Every profile, ordered by id. Throws InvalidProfileError when a file is broken. */
export function listProfiles(): FirmwareProfile[] {
  return [...load().values()];
}

/** One profile; UnknownProfileError for an id that names none. */
export function getProfile(id: string): FirmwareProfile {
  const profiles = load();
  const profile = ProfileIdSchema.safeParse(id).success ? profiles.get(id) : undefined;
  if (!profile) throw new UnknownProfileError(id, [...profiles.keys()]);
  return profile;
}

/** One profile, or null for an unknown id (for callers that treat "unknown" as "no facts"). */
export function findProfile(id: string | null | undefined): FirmwareProfile | null {
  if (!id) return null;
  return load().get(id) ?? null;
}
