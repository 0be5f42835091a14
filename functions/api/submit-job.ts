/** POST /jobs — submit one standalone job (202 new, 200 when the idempotency key matched). */
import { jobEngineFromEnv } from '#adapters/job-engine';
import { submitJobs } from '#domain/job-intake';
import { jobRequestSchema } from '#domain/job-submission';
import { httpRoute, json } from '#shared/http';
import { rejectedAsHttp } from '#shared/http-errors';

const engine = jobEngineFromEnv();

export const handler = httpRoute({ body: jobRequestSchema }, async ({ body, event }) => {
  const headerKey = event.headers?.['idempotency-key'];
  const request =
    body.idempotencyKey === undefined && headerKey ? { ...body, idempotencyKey: headerKey } : body;
  const [accepted] = await submitJobs([request], engine.intake, { indexed: false }).catch(rejectedAsHttp);
  if (!accepted) throw new Error('Intake returned no job');
  return json(accepted.duplicate ? 200 : 202, { ...accepted, jobUrl: `/jobs/${accepted.jobId}` });
});
