/** A job as every route shows it: public fields only, secrets redacted per its type. */
import { type JobRecord, publicJobView } from '#domain/jobs';
import { secretFieldsOf } from '#job-types/index';

export const jobView = (job: JobRecord) => publicJobView(job, secretFieldsOf(job.type));
