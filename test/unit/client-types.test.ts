/**
 * The client's types against the contract, at compile time (tsc checks these files; the `it`s
 * only make the checks show up as tests): the answers' types are the OpenAPI document's, so they
 * must take what the routes' zod schemas produce; the requests' hand-written types must be
 * bodies the document accepts. test/unit/openapi-document.test.ts checks the generated file is
 * the current document's.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as z from 'zod';
import type {
  AcceptedJob,
  ApiKeyView,
  BulkAccepted,
  CancelledJob,
  DlqRetryResult,
  IssuedApiKey,
  Job,
  JobPage,
  JobSubmission,
  OrderRequest,
  OrderStatusView,
  paths,
  QueueInfo,
  QueueStats,
  RealtimeTicket,
  Role,
  ScalingEvent,
  WorkersStatus,
} from '../../client/src/index.ts';
import type * as answers from '../../functions/domain/api-responses.ts';
import type { JobRequest } from '../../functions/domain/job-submission.ts';
import type { OrderRequest as ParsedOrder } from '../../functions/domain/orders.ts';

type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;

describe('answers', () => {
  it("the client's types take what the routes' schemas produce", () => {
    expectTypeOf<z.output<typeof answers.jobViewSchema>>().toExtend<Job>();
    expectTypeOf<z.output<typeof answers.jobPageSchema>>().toExtend<JobPage>();
    expectTypeOf<z.output<typeof answers.acceptedJobSchema>>().toExtend<AcceptedJob>();
    expectTypeOf<z.output<typeof answers.bulkAcceptedSchema>>().toExtend<BulkAccepted>();
    expectTypeOf<z.output<typeof answers.cancelRequestedSchema>>().toExtend<CancelledJob>();
    expectTypeOf<z.output<typeof answers.orderStatusViewSchema>>().toExtend<OrderStatusView>();
    expectTypeOf<z.output<typeof answers.dlqRetryResultSchema>>().toExtend<DlqRetryResult>();
    expectTypeOf<z.output<typeof answers.jobStatsSchema>>().toExtend<QueueStats>();
    expectTypeOf<z.output<typeof answers.queueInfoSchema>>().toExtend<QueueInfo>();
    expectTypeOf<z.output<typeof answers.workersStatusSchema>>().toExtend<WorkersStatus>();
    expectTypeOf<z.output<typeof answers.scalingEventSchema>>().toExtend<ScalingEvent>();
    expectTypeOf<z.output<typeof answers.apiKeyViewSchema>>().toExtend<ApiKeyView>();
    expectTypeOf<z.output<typeof answers.issuedApiKeySchema>>().toExtend<IssuedApiKey>();
    expectTypeOf<z.output<typeof answers.realtimeTicketSchema>>().toExtend<RealtimeTicket>();
    // …and the other way: nothing the client counts on is missing from the schemas.
    expectTypeOf<Job>().toExtend<z.output<typeof answers.jobViewSchema>>();
    expectTypeOf<OrderStatusView>().toExtend<z.output<typeof answers.orderStatusViewSchema>>();
    expect(true).toBe(true);
  });
});

describe('requests', () => {
  it('a job the client sends is a body POST /jobs accepts, and a parsed one fits the client', () => {
    type Submission = Body<'/jobs', 'post'>;
    expectTypeOf<Omit<JobSubmission, 'dependsOn'>>().toExtend<Omit<Submission, 'dependsOn'>>();
    expectTypeOf<string[]>().toExtend<NonNullable<Submission['dependsOn']>>();
    expectTypeOf<JobRequest>().toExtend<JobSubmission>();
    expect(true).toBe(true);
  });

  it('an order, and a key request', () => {
    expectTypeOf<OrderRequest>().toExtend<Body<'/orders', 'post'>>();
    expectTypeOf<ParsedOrder>().toExtend<OrderRequest>();
    expectTypeOf<{ name: string; role: Role }>().toExtend<Body<'/api-keys', 'post'>>();
    expect(true).toBe(true);
  });
});
