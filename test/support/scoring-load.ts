/** Continuous scoring against a real agent, counting the requests it answered. */
import { TABULAR_FEATURES } from "./tabular-module.js";

export interface ScoringLoad {
  /** Requests answered so far (any status). */
  readonly answered: number;
  /** Stops after the request in flight; resolves the answered count and every non-200 answer. */
  stop(): Promise<{ answered: number; failures: string[] }>;
}

/** Scores `module` (made by `publishTabularModule`) at `scoringUrl` one request after another. */
export function startScoringLoad(scoringUrl: string, module: string): ScoringLoad {
  let running = true;
  let answered = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      const features = Object.fromEntries(TABULAR_FEATURES.map((name, i) => [name, i + answered]));
      const response = await fetch(`${scoringUrl}/v1/modules/${module}/score`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ features }),
      });
      answered++;
      if (response.status !== 200) failures.push(`${response.status} ${await response.text()}`);
      else await response.arrayBuffer();
    }
  })();
  return {
    get answered() {
      return answered;
    },
    async stop() {
      running = false;
      await loop;
      return { answered, failures };
    },
  };
}
