/**
 * The agent version baked in by a bundled build (agent/packaging/bundle.ts defines
 * EDGEFLEET_BUILD_VERSION with esbuild); undefined when running from the source or dist/ tree,
 * where package.json is read instead.
 */
declare const EDGEFLEET_BUILD_VERSION: string | undefined;

/** The version a single-executable build was made from, if this is one. */
export function builtAgentVersion(): string | undefined {
  return typeof EDGEFLEET_BUILD_VERSION === "string" ? EDGEFLEET_BUILD_VERSION : undefined;
}
