/**
 * The layer order of edgefleet's top-level folders (docs/architecture.md). A folder may import its
 * own layer's libraries and any lower layer, never a higher one; a few sibling edges are closed
 * too (the agent's bundle stays free of hub and training code; the trainer talks to the hub only
 * over HTTP). Unit tests (`*.test.ts`) sit next to their code but belong to the test layer, so
 * they may use test support and higher-level helpers. `npm run lint` runs this.
 */
const LAYERS = [
  ["lib"],
  ["firmware-profiles", "drift-summary"],
  ["wire"],
  ["modules", "hub-api"],
  ["training"],
  ["agent", "hub", "trainer"],
  ["simulator", "cli"],
  ["bench", "test"],
];

const source = (folders) => `^(${folders.join("|")})/`;

/** One rule per layer: its folders may not import any folder of a higher layer. */
const upward = LAYERS.slice(0, -1).map((folders, i) => ({
  name: `no-upward-from-${folders.join("-")}`,
  comment: `${folders.join(", ")} may not import ${LAYERS.slice(i + 1)
    .flat()
    .join(", ")}`,
  severity: "error",
  from: { path: source(folders), pathNot: "\\.test\\.ts$" },
  to: { path: source(LAYERS.slice(i + 1).flat()) },
}));

/** Sibling edges that stay closed inside a layer. */
const siblings = [
  ["agent", ["hub", "trainer", "training"], "the agent ships alone to devices"],
  ["trainer", ["hub", "agent"], "the trainer worker is a separate process that talks to the hub over HTTP"],
  ["hub", ["agent"], "the hub never runs device code"],
  ["modules", ["hub-api"], "the module format knows nothing of the hub API"],
  ["hub-api", ["modules"], "the API client carries no module code"],
  ["drift-summary", ["firmware-profiles"], "the drift summary depends only on lib"],
  ["firmware-profiles", ["drift-summary"], "profiles depend only on lib"],
  ["simulator", ["cli"], "the CLI drives the simulator, not the other way round"],
].map(([from, to, why]) => ({
  name: `no-${from}-to-${to.join("-")}`,
  comment: why,
  severity: "error",
  from: { path: source([from]), pathNot: "\\.test\\.ts$" },
  to: { path: source(to) },
}));

/**
 * The console is a browser app beside the layers: it talks to the hub over HTTP only, so it imports
 * no other folder, and nothing imports it (the hub serves its built files from dist/console).
 */
const ALL_FOLDERS = LAYERS.flat();
const consoleRules = [
  {
    name: "no-console-to-repo",
    comment: "the console talks to the hub over HTTP only",
    severity: "error",
    from: { path: "^console/" },
    to: { path: source(ALL_FOLDERS) },
  },
  {
    name: "no-import-of-console",
    comment: "the hub serves the built console; no code imports its source",
    severity: "error",
    from: { pathNot: "^console/" },
    to: { path: "^console/" },
  },
];

module.exports = {
  forbidden: [
    ...upward,
    ...siblings,
    ...consoleRules,
    {
      name: "no-cycles",
      comment: "no import cycle, type-only imports included",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist|console/dist)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
    moduleSystems: ["es6"],
  },
};
