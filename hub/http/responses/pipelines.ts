/** What the pipeline routes answer: the schemas are shared with the CLI in hub-api/pipelines.ts. */
export {
  PipelineRunSchema,
  PipelineRunSummarySchema,
  PipelineStepSchema,
} from "../../../hub-api/pipelines.js";
