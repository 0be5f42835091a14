/** POST /jobs/bulk — up to 500 jobs in one request; all are valid or none is stored. */
import { jobEngineFromEnv } from '#adapters/job-engine';
import { submitJobs } from '#domain/job-intake';
import { bulkRequestSchema } from '#domain/job-submission';
import { httpRoute, json } from '#shared/http';
import { rejectedAsHttp } from '#shared/http-errors';

const engine = jobEngineFromEnv();

export const handler = httpRoute({ body: bulkRequestSchema }, async ({ body }) => {
  const accepted = await submitJobs(body.jobs, engine.intake, { indexed: true }).catch(rejectedAsHttp);
  return json(202, {
    accepted: accepted.filter((a) => !a.duplicate).length,
    duplicates: accepted.filter((a) => a.duplicate).length,
    jobs: accepted,
  });
});
