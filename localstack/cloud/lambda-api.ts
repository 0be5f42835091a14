/**
 * The Lambda API calls the factory and its tests use, served by the local runtime:
 * Invoke, ListFunctions, ListEventSourceMappings, GetEventSourceMapping, UpdateEventSourceMapping
 * (Enabled, BatchSize is fixed, ScalingConfig.MaximumConcurrency — the scaling knob).
 */
import type { BufferedRequest, ServiceResponse } from './edge.ts';
import type { EventSourcePollers, QueueMapping } from './event-source-mappings.ts';
import type { LambdaRuntime } from './lambda-runtime.ts';

const jsonResponse = (
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): ServiceResponse => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

const error = (status: number, type: string, message: string) =>
  jsonResponse(status, { Type: 'User', Message: message, message }, { 'x-amzn-errortype': type });

export function lambdaApi(runtime: LambdaRuntime, pollers: () => EventSourcePollers | undefined) {
  const view = (m: QueueMapping) => ({
    UUID: m.uuid,
    EventSourceArn: m.queueArn,
    FunctionArn: runtime.get(m.functionName)?.arn,
    BatchSize: m.batchSize,
    State: pollers()?.state(m.uuid) ?? 'Disabled',
    ScalingConfig: { MaximumConcurrency: m.maximumConcurrency },
    FunctionResponseTypes: m.reportBatchItemFailures ? ['ReportBatchItemFailures'] : [],
    LastModified: Date.now() / 1000,
  });

  return async (request: BufferedRequest): Promise<ServiceResponse> => {
    const url = new URL(request.url, 'http://local');
    const parts = url.pathname.split('/').filter(Boolean).slice(1);
    const [collection, id, sub] = parts;
    const esm = pollers();
    if (collection === 'functions' && id && sub === 'invocations' && request.method === 'POST') {
      const payload = request.body.length ? JSON.parse(request.body.toString()) : {};
      const outcome = await runtime.invoke(decodeURIComponent(id), payload);
      if (!outcome.ok && outcome.error.errorType === 'ResourceNotFoundException') {
        return error(404, 'ResourceNotFoundException', outcome.error.errorMessage);
      }
      return outcome.ok
        ? jsonResponse(200, outcome.result, { 'x-amz-executed-version': '$LATEST' })
        : jsonResponse(200, outcome.error, { 'x-amz-function-error': 'Unhandled' });
    }
    if (collection === 'functions' && !id && request.method === 'GET') {
      return jsonResponse(200, {
        Functions: runtime.list().map((fn) => ({
          FunctionName: fn.name,
          FunctionArn: fn.arn,
          Runtime: 'nodejs22.x',
          Timeout: fn.timeoutSeconds,
          MemorySize: fn.memorySize,
          Description: fn.description ?? '',
        })),
      });
    }
    if (collection === 'event-source-mappings' && esm) {
      if (!id && request.method === 'GET') {
        const fn = url.searchParams.get('FunctionName');
        const target = fn ? runtime.get(fn) : undefined;
        return jsonResponse(200, {
          EventSourceMappings: esm
            .list()
            .filter((m) => !fn || m.functionName === target?.name)
            .map(view),
        });
      }
      const mapping = id ? esm.get(id) : undefined;
      if (!mapping)
        return error(404, 'ResourceNotFoundException', `The resource you requested does not exist: ${id}`);
      if (request.method === 'GET') return jsonResponse(200, view(mapping));
      if (request.method === 'PUT') {
        const body = JSON.parse(request.body.toString() || '{}') as {
          Enabled?: boolean;
          ScalingConfig?: { MaximumConcurrency?: number };
        };
        const concurrency = body.ScalingConfig?.MaximumConcurrency;
        if (
          concurrency !== undefined &&
          (!Number.isInteger(concurrency) || concurrency < 2 || concurrency > 1000)
        ) {
          return error(
            400,
            'InvalidParameterValueException',
            'MaximumConcurrency must be between 2 and 1000',
          );
        }
        const updated = esm.update(mapping.uuid, {
          ...(body.Enabled !== undefined ? { enabled: body.Enabled } : {}),
          ...(concurrency !== undefined ? { maximumConcurrency: concurrency } : {}),
        });
        return jsonResponse(202, view(updated as QueueMapping));
      }
    }
    return error(
      400,
      'UnsupportedOperation',
      `The local cloud does not implement ${request.method} ${url.pathname}`,
    );
  };
}
