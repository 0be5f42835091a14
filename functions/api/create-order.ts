/** POST /orders — accept a robot order and start its assembly workflow. */
import { AssemblyWorkflows } from '#adapters/assembly-workflows';
import { OrderStore } from '#adapters/order-store';
import { acceptedOrderSchema } from '#domain/api-responses';
import {
  acceptOrder,
  assemblyInput,
  executionNameOf,
  OrderRejected,
  orderRequestSchema,
} from '#domain/orders';
import { envFlag, requireEnv, requireJsonEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { badRequest } from '#shared/http-errors';
import { describeError, logger } from '#shared/logger';

const orders = new OrderStore(requireEnv('ORDERS_TABLE'));
const workflows = new AssemblyWorkflows(requireJsonEnv<Record<string, string>>('ASSEMBLY_WORKFLOWS'));
const simulationEnabled = envFlag('SIMULATION_ENABLED');

export const handler = httpRoute(
  { body: orderRequestSchema, responses: { 202: acceptedOrderSchema } },
  async ({ body }) => {
    let order: ReturnType<typeof acceptOrder>;
    try {
      order = acceptOrder(body, { simulationEnabled, now: new Date() });
    } catch (error) {
      if (error instanceof OrderRejected) throw badRequest(error.code, error.message, error.details);
      throw error;
    }
    logger.appendKeys({ orderId: order.orderId });
    await orders.create(order);
    try {
      await workflows.start(order.robotType, executionNameOf(order), assemblyInput(order));
      await orders.markWorkflowStarted(order.orderId);
    } catch (error) {
      // The order is stored durably; the intake sweeper starts its workflow. The customer's
      // request succeeded, so it is not a 5xx.
      logger.warn('Workflow start deferred to the intake sweeper', describeError(error));
    }
    return json(202, {
      orderId: order.orderId,
      status: order.status,
      statusUrl: `/orders/${order.orderId}/status`,
    });
  },
);
