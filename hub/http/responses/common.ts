/** Building blocks of the response schemas: how timestamps and free-form fields appear in JSON. */
import { z } from "zod";

/** A timestamp as the API writes it: ISO 8601 in UTC (a Date serialised by JSON.stringify). */
export const Timestamp = z.iso.datetime().meta({ description: "ISO 8601 timestamp, UTC" });

/** A timestamp that may be unset. */
export const MaybeTimestamp = Timestamp.nullable();

/** Metric name → value, as recorded by evaluations and training runs. */
export const MetricsSchema = z.record(z.string(), z.number().nullable()).meta({ id: "Metrics" });

/** Free-form parameters (recipe params, webhook headers) that the API stores as given. */
export const ParamsSchema = z
  .record(z.string(), z.unknown())
  .meta({ id: "Params", description: "free-form parameters, stored as given" });
