/**
 * POST /jobs — submit one standalone job (202 new, 200 when the idempotency key matched); with
 * `"predict": true` the answer carries the failure model's prediction.
 * POST /jobs/predict — the prediction alone, for a job validated as POST /jobs would validate it
 * (domain/failure-prediction.ts).
 */
import { jobEngineFromEnv } from '#adapters/job-engine';
import { MetricsStore } from '#adapters/metrics-store';
import { JobPredictor, ModelStore, noModelYet } from '#adapters/model-store';
import { acceptedJobSchema, predictionAnswerSchema } from '#domain/api-responses';
import { submitJob } from '#domain/job-intake';
import { type JobRequest, jobRequestSchema, planJobs } from '#domain/job-submission';
import { jobTypes } from '#job-types/index';
import { envInt, requireEnv } from '#shared/env';
import { byRoute, httpRoute, json } from '#shared/http';
import { HttpError, rejectedAsHttp } from '#shared/http-errors';

const engine = jobEngineFromEnv();
const metricsTable = requireEnv('METRICS_TABLE');
const predictor = new JobPredictor(
  new ModelStore(metricsTable),
  new MetricsStore(metricsTable, envInt('METRICS_RETENTION_DAYS', 30)),
);

const predictionOf = (job: JobRequest) =>
  predictor.predict(
    { queue: job.queue, type: job.type, payload: job.payload, priority: job.priority },
    new Date(),
  );

/** 202 for a new job, 200 when the idempotency key matched one. */
const accepted = { 202: acceptedJobSchema, 200: acceptedJobSchema };

const submit = httpRoute({ body: jobRequestSchema, responses: accepted }, async ({ body, event }) => {
  const { predict, ...request } = body;
  const [accepted, prediction] = await Promise.all([
    submitJob(request, event.headers?.['idempotency-key'], engine.intake).catch(rejectedAsHttp),
    // A prediction is extra: its failure never fails the submission.
    predict ? predictionOf(request).catch(() => undefined) : undefined,
  ]);
  return json(accepted.duplicate ? 200 : 202, {
    ...accepted,
    jobUrl: `/jobs/${accepted.jobId}`,
    ...(predict
      ? { prediction: prediction ?? null, ...(prediction ? {} : { predictionUnavailable: noModelYet }) }
      : {}),
  });
});

const predict = httpRoute(
  { body: jobRequestSchema, responses: { 200: predictionAnswerSchema } },
  async ({ body }) => {
    // The same checks as a submission (queue, type, payload), without writing anything.
    try {
      planJobs([body], { now: new Date(), jobTypes, dependencies: new Map(), indexed: false });
    } catch (error) {
      rejectedAsHttp(error);
    }
    const prediction = await predictionOf(body);
    if (!prediction) throw new HttpError(409, 'MODEL_NOT_TRAINED', noModelYet);
    return json(200, { queue: body.queue, type: body.type, ...prediction });
  },
);

export const handler = byRoute({ 'POST /jobs': submit, 'POST /jobs/predict': predict });
