/** The parts of the hub a retraining cycle steps through. */
import type { BlobStore } from "../blobs/blob-store.js";
import type { HubLink } from "../mqtt/hub-link.js";
import type { Repositories } from "../repos/index.js";
import type { DeploymentDeps } from "../services/deployments.js";
import type { PackagingDeps } from "../services/packaging.js";

/**
 * The repositories and blobs a cycle reads and writes, the link that asks devices for samples,
 * and packaging and deploying as the API does them.
 */
export type RetrainingHub = DeploymentDeps &
  PackagingDeps & {
    repos: Pick<Repositories, "devices" | "modules" | "models" | "runs" | "deployments">;
    blobs: BlobStore;
    link: Pick<HubLink, "publishCommand">;
  };
