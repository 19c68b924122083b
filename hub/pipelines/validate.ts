/**
 * Checks a submitted pipeline spec before anything is written: the shape (zod), the chain, the
 * dataset and version, and the train step as the job service would check its run (target, task,
 * recipe and params, snapshot). A spec that fails any check is a ValidationError (400).
 */
import { z } from "zod";
import { ValidationError } from "../../lib/errors.js";
import type { BlobStore } from "../blobs/blob-store.js";
import { resolveRunSpec } from "../jobs/spec.js";
import type { Repositories } from "../repos/index.js";
import { chainProblems, type PipelineSpec, PipelineSpecSchema } from "./spec.js";
import { trainSubmission } from "./steps/train.js";

export interface ValidateDeps {
  repos: Pick<Repositories, "datasets">;
  blobs: BlobStore;
}

/** The spec with its defaults filled in, or a ValidationError saying what is wrong. */
export async function validatePipelineSpec(deps: ValidateDeps, body: unknown): Promise<PipelineSpec> {
  const parsed = PipelineSpecSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError(z.prettifyError(parsed.error), parsed.error.issues);
  const spec = parsed.data;
  const problems = chainProblems(spec.steps);
  if (problems.length > 0) throw new ValidationError(problems.join("; "), { problems });
  const { dataset, train } = spec.steps;
  if (dataset) {
    const version = await deps.repos.datasets.resolve(dataset.name, dataset.version);
    if (!version) throw new ValidationError(`dataset ${dataset.name} has no version "${dataset.version}"`);
    if (train) {
      const submission = trainSubmission(
        spec.name,
        train,
        { name: dataset.name, version: version.version },
        version,
      );
      try {
        await resolveRunSpec(deps, submission);
      } catch (error) {
        if (error instanceof ValidationError) {
          throw new ValidationError(`step train: ${error.message}`, error.details);
        }
        throw error;
      }
    }
  }
  return spec;
}
