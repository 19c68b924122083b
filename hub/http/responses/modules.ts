/** What the module routes answer: a module version with its manifest and signed tarball. */
import { z } from "zod";
import { ManifestSchema } from "../../../modules/manifest.js";
import { Timestamp } from "./common.js";

export const ModuleSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    version: z.string(),
    modelVersionId: z.number().int(),
    manifest: ManifestSchema,
    tarballSha256: z.string(),
    tarballSize: z.number().int(),
    createdAt: Timestamp,
  })
  .meta({ id: "Module" });
