/**
 * A canned DynamoDB endpoint for unit tests of adapters: records each call's target and body and
 * answers what `answer` returns (default `{}`; `{ httpStatus, body }` answers an error); the SDK clients of the test's module are pointed
 * at it through AWS_ENDPOINT_URL.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CannedCall {
  readonly target: string;
  readonly body: Record<string, unknown>;
}

export async function startCannedDynamo(answer: (call: CannedCall, n: number) => unknown = () => ({})) {
  const calls: CannedCall[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const call = { target: String(request.headers['x-amz-target']), body: JSON.parse(body) };
      const answered = answer(call, calls.length) as { httpStatus?: number; body?: unknown } | undefined;
      calls.push(call);
      // An answer of `{ httpStatus, body }` is an error DynamoDB gives (e.g. 400 ValidationException).
      const failed = typeof answered?.httpStatus === 'number';
      response.writeHead(failed ? (answered?.httpStatus as number) : 200, {
        'content-type': 'application/x-amz-json-1.0',
      });
      response.end(JSON.stringify((failed ? answered?.body : answered) ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  return { calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
