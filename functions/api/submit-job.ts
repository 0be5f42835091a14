/** POST /jobs — submit one standalone job (202 new, 200 when the idempotency key matched). */
import { jobEngineFromEnv } from '#adapters/job-engine';
import { submitJob } from '#domain/job-intake';
import { jobRequestSchema } from '#domain/job-submission';
import { httpRoute, json } from '#shared/http';
import { rejectedAsHttp } from '#shared/http-errors';

const engine = jobEngineFromEnv();

export const handler = httpRoute({ body: jobRequestSchema }, async ({ body, event }) => {
  const accepted = await submitJob(body, event.headers?.['idempotency-key'], engine.intake).catch(
    rejectedAsHttp,
  );
  return json(accepted.duplicate ? 200 : 202, { ...accepted, jobUrl: `/jobs/${accepted.jobId}` });
});
