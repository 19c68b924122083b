/** `POST /models/{name}/versions/{version}/quantize`: make and validate a version's int8 variant. */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { QUANTIZABLE_OPS } from "../../../modules/onnx/quantize/index.js";
import { type QuantizationDeps, quantizeModelVersion } from "../../quantization/service.js";
import { AliasNameSchema } from "../../repos/models.js";
import { principalName, requireRole } from "../auth.js";
import { ModelVersionSchema } from "../responses/models.js";
import { type ApiApp, createRouter } from "../router.js";
import { ModelNameSchema } from "./models.js";
import { jsonOk } from "./schemas.js";

const quantize = createRoute({
  method: "post",
  path: "/api/v1/models/{name}/versions/{version}/quantize",
  summary:
    "Quantize a trained version to int8 (dynamic, or static with activation ranges calibrated on its training rows; MatMul/Gemm/Conv), measure float and int8 on its test split, record both",
  middleware: [requireRole("operator")] as const,
  request: {
    params: z.object({
      name: ModelNameSchema,
      version: z.union([z.string().regex(/^[1-9][0-9]{0,8}$/, "a version number"), AliasNameSchema]),
    }),
    body: {
      content: {
        "application/json": {
          schema: z
            .object({
              mode: z.enum(["dynamic", "static"]).default("dynamic"),
              ops: z.array(z.enum(QUANTIZABLE_OPS)).min(1).optional(),
            })
            .strict(),
        },
      },
      required: false,
    },
  },
  responses: jsonOk(ModelVersionSchema, "The model version with its `int8` record"),
});

/** What the route uses: the quantization service's dependencies. */
export type QuantizeRouteDeps = QuantizationDeps;

/** The quantize route, as a router to mount. */
export function quantizeRoutes(deps: QuantizeRouteDeps): ApiApp {
  const app = createRouter();
  app.openapi(quantize, async (c) => {
    const { name, version } = c.req.valid("param");
    const body = c.req.valid("json") ?? { mode: "dynamic" as const };
    const principal = c.get("principal");
    const by = principalName(principal);
    const updated = await quantizeModelVersion(deps, {
      name,
      version,
      by,
      mode: body.mode,
      ...(body.ops ? { ops: body.ops } : {}),
    });
    return c.json(updated, 200);
  });
  return app;
}
