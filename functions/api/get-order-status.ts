/** GET /orders/{orderId}/status — read from DynamoDB, never from Step Functions (15 DescribeExecution/s). */
import * as z from 'zod';
import { StepJobStore } from '#adapters/job-engine-store';
import { OrderStore } from '#adapters/order-store';
import { orderStatusViewSchema } from '#domain/api-responses';
import { orderStatusView } from '#domain/orders';
import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { notFound } from '#shared/http-errors';

const orders = new OrderStore(requireEnv('ORDERS_TABLE'));
const jobs = new StepJobStore(requireEnv('JOBS_TABLE'));

export const handler = httpRoute(
  { path: z.object({ orderId: z.string().min(1) }), responses: { 200: orderStatusViewSchema } },
  async ({ path }) => {
    const [order, stepJobs] = await Promise.all([orders.get(path.orderId), jobs.listForOrder(path.orderId)]);
    if (!order) throw notFound('ORDER_NOT_FOUND', `No order with id "${path.orderId}".`);
    return json(200, orderStatusView(order, stepJobs));
  },
);
