/** The registry of job types: one line per plugin. */
import { delayedMessage } from './delayed-message.ts';
import { failSometimes } from './fail-sometimes.ts';
import { generateReport } from './generate-report.ts';
import type { JobType } from './job-type.ts';
import { processImage } from './process-image.ts';
import { runMaintenance } from './run-maintenance.ts';
import { sendEmail } from './send-email.ts';
import { webhookCall } from './webhook-call.ts';

export const jobTypes: ReadonlyMap<string, JobType> = new Map(
  [delayedMessage, failSometimes, sendEmail, webhookCall, generateReport, processImage, runMaintenance].map(
    (t) => [t.name, t as JobType],
  ),
);

/** The payload paths a job type declares secret (domain/secrets.ts). */
export const secretFieldsOf = (type: string): readonly string[] => jobTypes.get(type)?.secretFields ?? [];
