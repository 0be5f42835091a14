/**
 * POST /jobs/bulk — up to 500 jobs in one request; all are valid or none is stored, and should
 * storage fail midway what was stored is taken back (503 INTAKE_FAILED). With an Idempotency-Key
 * header the request can be retried as it is: the same key gives the same jobs (a retry made
 * while the first call is still storing them waits for it, or answers 409 REQUEST_IN_PROGRESS).
 */
import { jobEngineFromEnv } from '#adapters/job-engine';
import { bulkAcceptedSchema } from '#domain/api-responses';
import { submitJobs } from '#domain/job-intake';
import { bulkRequestSchema } from '#domain/job-submission';
import { httpRoute, json } from '#shared/http';
import { rejectedAsHttp } from '#shared/http-errors';

const engine = jobEngineFromEnv();

export const handler = httpRoute(
  { body: bulkRequestSchema, responses: { 202: bulkAcceptedSchema } },
  async ({ body, event }) => {
    const requestKey = event.headers?.['idempotency-key'];
    const accepted = await submitJobs(body.jobs, engine.intake, {
      indexed: true,
      ...(requestKey ? { requestKey } : {}),
    }).catch(rejectedAsHttp);
    return json(202, {
      accepted: accepted.filter((a) => !a.duplicate).length,
      duplicates: accepted.filter((a) => a.duplicate).length,
      jobs: accepted,
    });
  },
);
