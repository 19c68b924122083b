/** dataset: pins the dataset version (a ref such as `latest` resolved to its sha256). */
import { type StepDefinition, StepFailure } from "./types.js";

export const datasetStep: StepDefinition = {
  async inputs({ deps, pipeline }) {
    const { name, version: ref } = pipeline.spec.steps.dataset!;
    const version = await deps.repos.datasets.resolve(name, ref);
    if (!version) throw new StepFailure(`dataset ${name} has no version "${ref}"`);
    // The resolved sha256, not the ref: a new upload under `latest` is new input.
    return { name, version: version.version };
  },
  async run({ deps }, inputs) {
    const version = await deps.repos.datasets.resolve(inputs.name as string, inputs.version as string);
    if (!version) throw new StepFailure(`dataset ${inputs.name} version ${inputs.version} no longer exists`);
    return { name: version.name, version: version.version, rows: version.rows };
  },
  async stillThere(deps, output) {
    return (await deps.repos.datasets.resolve(output.name as string, output.version as string)) !== null;
  },
};
