/**
 * Starts the workflow of every order that was stored but whose StartExecution never got through
 * (a crash or throttle between the two writes). Execution names are order ids, so starting one
 * that did start is harmless.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { AssemblyWorkflows } from '#adapters/assembly-workflows';
import { OrderStore } from '#adapters/order-store';
import { assemblyInput, executionNameOf } from '#domain/orders';
import { envInt, requireEnv, requireJsonEnv } from '#shared/env';
import { describeError, logger } from '#shared/logger';

const orders = new OrderStore(requireEnv('ORDERS_TABLE'));
const workflows = new AssemblyWorkflows(requireJsonEnv<Record<string, string>>('ASSEMBLY_WORKFLOWS'));
const graceMs = envInt('INTAKE_GRACE_MS', 30_000);

export const handler = middy<ScheduledEvent, { restarted: number; failed: number }>()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    const before = new Date(Date.now() - graceMs).toISOString();
    const stranded = await orders.listAwaitingStart(before, 100);
    let restarted = 0;
    let failed = 0;
    for (const order of stranded) {
      try {
        await workflows.start(order.robotType, executionNameOf(order), assemblyInput(order));
        await orders.markWorkflowStarted(order.orderId);
        restarted++;
      } catch (error) {
        failed++;
        logger.error('Could not start a stranded order', { orderId: order.orderId, ...describeError(error) });
      }
    }
    if (stranded.length > 0) logger.info('Intake sweep finished', { restarted, failed });
    return { restarted, failed };
  });
