/**
 * The environment a script job starts with: an allow-list of the worker's own variables (what a
 * shell, Python, CUDA and a locale need) and the job's EDGEFLEET_* variables. Nothing else of the
 * worker's environment reaches the script: not DATABASE_URL, not the worker's or the hub's tokens,
 * not cloud credentials. The only credential a script gets is its attempt's own token.
 */

/** Variables passed on by exact name. */
const ALLOWED_NAMES = new Set([
  "PATH",
  "HOME",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TERM",
  "TMPDIR",
  "SHELL",
  "USER",
  "LOGNAME",
  "VIRTUAL_ENV",
  "CONDA_PREFIX",
  "CONDA_DEFAULT_ENV",
  "LD_LIBRARY_PATH",
  "CUDA_HOME",
  "CUDA_PATH",
  "CUDA_VISIBLE_DEVICES",
  "NVIDIA_VISIBLE_DEVICES",
  "NVIDIA_DRIVER_CAPABILITIES",
  "OMP_NUM_THREADS",
  "MKL_NUM_THREADS",
  "OPENBLAS_NUM_THREADS",
]);

/** Variables passed on by prefix: locale settings and the Python interpreter's own. */
const ALLOWED_PREFIXES = ["LC_", "PYTHON"];

/** Whether a variable of the worker's environment may reach a script. */
export function allowedInScript(name: string): boolean {
  return ALLOWED_NAMES.has(name) || ALLOWED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** The allow-listed part of `parent`, with `job` (the EDGEFLEET_* variables) on top. */
export function scriptEnvironment(
  parent: NodeJS.ProcessEnv,
  job: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent))
    if (value !== undefined && allowedInScript(name)) env[name] = value;
  return { ...env, ...job };
}
