/**
 * Orders beyond intake (POST /orders) and status (GET /orders/{id}/status):
 * GET /orders?status=&robotType=&customerId=&limit=&cursor= — newest first within each state;
 * GET /orders/{orderId} — the order with its steps (the status view);
 * DELETE /orders/{orderId} — cancel: the workflow stops, waiting steps are cancelled, a running
 *   step stops at its next heartbeat; 200 CANCELLED, 409 when the order already finished;
 * POST /orders/{orderId}/retry — resume a FAILED order from its failed steps (202).
 */
import * as z from 'zod';
import { AssemblyWorkflows } from '#adapters/assembly-workflows';
import { jobEngineFromEnv, retryPortsFromEnv } from '#adapters/job-engine';
import { StepJobStore } from '#adapters/job-engine-store';
import { OrderStore } from '#adapters/order-store';
import {
  cancelledOrderSchema,
  orderPageSchema,
  orderStatusViewSchema,
  resumedOrderSchema,
} from '#domain/api-responses';
import { robotTypes } from '#domain/catalog';
import { pageSchema } from '#domain/job-listing';
import { resumeOrder } from '#domain/job-retry';
import { cancelOrder } from '#domain/order-cancel';
import { orderStatuses, orderStatusView } from '#domain/orders';
import { requireEnv, requireJsonEnv } from '#shared/env';
import { actorOf, byRoute, httpRoute, json } from '#shared/http';
import { conflict, notFound, rejectedAsHttp } from '#shared/http-errors';

const orders = new OrderStore(requireEnv('ORDERS_TABLE'));
const stepJobs = new StepJobStore(requireEnv('JOBS_TABLE'));
const engine = jobEngineFromEnv();
const retryPorts = retryPortsFromEnv();
const workflows = new AssemblyWorkflows(requireJsonEnv<Record<string, string>>('ASSEMBLY_WORKFLOWS'));
const orderPath = z.object({ orderId: z.string().min(1).max(200) });

async function orderOr404(orderId: string) {
  const order = await orders.get(orderId);
  if (!order) throw notFound('ORDER_NOT_FOUND', `No order with id "${orderId}".`);
  return order;
}

const list = httpRoute(
  {
    query: pageSchema.extend({
      status: z.enum(orderStatuses).optional(),
      robotType: z.enum(robotTypes.map((r) => r.name) as [string, ...string[]]).optional(),
      customerId: z.string().trim().min(1).max(128).optional(),
    }),
    responses: { 200: orderPageSchema },
  },
  async ({ query }) => {
    const page = await orders.list(query).catch(rejectedAsHttp);
    return json(200, {
      orders: page.orders.map((order) => ({
        orderId: order.orderId,
        customerId: order.customerId,
        robotType: order.robotType,
        priority: order.priority,
        status: order.status,
        createdAt: order.createdAt,
        ...(order.completedAt ? { completedAt: order.completedAt } : {}),
        ...(order.failedAt ? { failedAt: order.failedAt, error: order.error } : {}),
        ...(order.cancelledAt ? { cancelledAt: order.cancelledAt } : {}),
        statusUrl: `/orders/${order.orderId}/status`,
      })),
      nextCursor: page.nextCursor,
    });
  },
);

const get = httpRoute({ path: orderPath, responses: { 200: orderStatusViewSchema } }, async ({ path }) => {
  const [order, steps] = await Promise.all([orderOr404(path.orderId), stepJobs.listForOrder(path.orderId)]);
  return json(200, orderStatusView(order, steps));
});

const cancel = httpRoute(
  {
    path: orderPath,
    query: z.object({ reason: z.string().min(1).max(200).optional() }),
    responses: { 200: cancelledOrderSchema },
  },
  async ({ path, query, event }) => {
    const order = await orderOr404(path.orderId);
    const outcome = await cancelOrder(order, actorOf(event), query.reason ?? 'cancelled by request', {
      orders,
      workflows,
      steps: engine.store,
      logs: engine.logs,
      clock: { now: () => new Date() },
    });
    if (outcome.kind === 'refused') throw conflict(outcome.code, outcome.message, { status: order.status });
    const steps = await stepJobs.listForOrder(path.orderId);
    return json(200, { ...orderStatusView(outcome.order, steps), cancelledSteps: outcome.steps });
  },
);

const retry = httpRoute(
  { path: orderPath, responses: { 202: resumedOrderSchema } },
  async ({ path, event }) => {
    const order = await orderOr404(path.orderId);
    const outcome = await resumeOrder(order, { ...retryPorts, actor: actorOf(event) });
    if (outcome.kind === 'refused') throw conflict(outcome.code, outcome.message, { status: order.status });
    return json(202, {
      orderId: order.orderId,
      status: outcome.order.status,
      execution: outcome.executionName,
      retriedSteps: outcome.steps.map((s) => s.jobId),
      statusUrl: `/orders/${order.orderId}/status`,
    });
  },
);

export const handler = byRoute({
  'GET /orders': list,
  'GET /orders/{orderId}': get,
  'DELETE /orders/{orderId}': cancel,
  'POST /orders/{orderId}/retry': retry,
});
