/** @robot-factory/client: a typed client of the Robot Factory's HTTP API (docs/cli.md). */
export {
  defaultBulkParallel,
  FactoryClient,
  type FactoryClientOptions,
  maxBulkJobs,
  maxBulkParallel,
  type RequestOptions,
  type SubmitJobsOptions,
  type WaitOptions,
} from './client.ts';
export { FactoryApiError, FactoryConnectionError, FactoryTimeoutError } from './errors.ts';
export type { components, operations, paths } from './generated/openapi.ts';
export {
  type SocketFactory,
  type SocketLike,
  Subscription,
  type SubscriptionFilters,
} from './realtime.ts';
export * from './types.ts';
