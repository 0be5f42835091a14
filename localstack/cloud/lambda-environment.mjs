// One Lambda execution environment: a worker thread that imports the bundled handler once
// (cold start) and then serves invocations one at a time, as Lambda does.

import { readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getPriority, setPriority } from 'node:os';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const { codePath, handlerExport, functionName, memorySize, logStreamName, functionArn, edgeUrl, nice } =
  workerData;
if (nice) lowerThreadPriority(nice);
if (edgeUrl) callEdgeOverPort(new URL(edgeUrl));
const module = await import(pathToFileURL(codePath).href);
const handler = module[handlerExport];
if (typeof handler !== 'function') {
  throw new Error(`${functionName}: ${codePath} does not export a function "${handlerExport}"`);
}
parentPort.postMessage({ type: 'ready' });

parentPort.on('message', async ({ type, id, event, deadline }) => {
  if (type === 'aws-response') return;
  const context = {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: String(memorySize),
    awsRequestId: id,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await handler(event, context);
    parentPort.postMessage({ type: 'result', id, result: result === undefined ? null : result });
  } catch (error) {
    parentPort.postMessage({
      type: 'error',
      id,
      error: {
        errorType: error?.name ?? 'Error',
        errorMessage: error?.message ?? String(error),
        stack: error?.stack,
      },
    });
  }
});

/**
 * The function's AWS calls to the local cloud's endpoint go to the main thread over this
 * environment's message port, as the signed request the SDK built (method, path, headers, body):
 * the edge serves it as it serves one from a socket. The SDK is the one the function resolves
 * (Lambda provides it, so bundles leave it out); calls to any other host keep its HTTP handler.
 */
function callEdgeOverPort(edge) {
  const require = createRequire(pathToFileURL(codePath).href);
  let http;
  try {
    http = require('@smithy/node-http-handler');
  } catch {
    return; // a function without the SDK
  }
  const original = http.NodeHttpHandler.prototype.handle;
  const waiting = new Map();
  let next = 0;
  parentPort.on('message', (message) => {
    if (message?.type !== 'aws-response') return;
    const call = waiting.get(message.id);
    waiting.delete(message.id);
    call?.(message);
  });
  const port = (url) => url.port || (url.protocol === 'https:' ? '443' : '80');
  http.NodeHttpHandler.prototype.handle = async function handle(request, options = {}) {
    if (request.hostname !== edge.hostname || String(request.port ?? port(request)) !== port(edge))
      return original.call(this, request, options);
    const signal = options.abortSignal;
    if (signal?.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    const id = next++;
    const answered = new Promise((resolve, reject) => {
      waiting.set(id, resolve);
      signal?.addEventListener?.(
        'abort',
        () => {
          waiting.delete(id);
          reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
        },
        { once: true },
      );
    });
    parentPort.postMessage({
      type: 'aws',
      id,
      method: request.method,
      url: pathOf(request),
      headers: Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), String(v)]),
      ),
      body: await bodyOf(request.body),
    });
    const { status, headers, body } = await answered;
    return { response: { statusCode: status, headers, body: Readable.from([Buffer.from(body)]) } };
  };
}

function pathOf(request) {
  const query = Object.entries(request.query ?? {}).flatMap(([key, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) =>
      v === null ? encodeURIComponent(key) : `${encodeURIComponent(key)}=${encodeURIComponent(v)}`,
    ),
  );
  return `${request.path || '/'}${query.length > 0 ? `?${query.join('&')}` : ''}`;
}

/** A string as it is (cloned cheaply); bytes as one exact buffer (a pooled Buffer is cloned whole). */
async function bodyOf(body) {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array)
    return body.byteLength === body.buffer.byteLength ? body : new Uint8Array(body);
  const chunks = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * On Linux a thread has a nice value of its own: this environment's thread yields to the local
 * cloud's main thread, which serves every AWS call of every environment (on AWS the services run
 * elsewhere and a busy function does not slow them). `niceness` is added to the nice value the
 * thread started with (the local cloud's own): a user may raise a nice value, not lower it, so a
 * local cloud started under `nice` keeps its threads' order. Elsewhere, or without /proc, nothing.
 */
function lowerThreadPriority(niceness) {
  let threadId;
  try {
    threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return; // not Linux: the scheduler treats every thread alike
  }
  if (!Number.isInteger(threadId)) return;
  try {
    setPriority(threadId, Math.min(19, getPriority(threadId) + niceness));
  } catch (error) {
    console.error(`${functionName}: could not lower this environment's priority: ${error.message}`);
  }
}
