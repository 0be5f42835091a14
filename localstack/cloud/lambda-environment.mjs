// One Lambda execution environment: a worker thread that imports the bundled handler once
// (cold start) and then serves invocations one at a time, as Lambda does.

import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const { codePath, handlerExport, functionName, memorySize, logStreamName, functionArn } = workerData;
const module = await import(pathToFileURL(codePath).href);
const handler = module[handlerExport];
if (typeof handler !== 'function') {
  throw new Error(`${functionName}: ${codePath} does not export a function "${handlerExport}"`);
}
parentPort.postMessage({ type: 'ready' });

parentPort.on('message', async ({ id, event, deadline }) => {
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
