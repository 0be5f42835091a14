/**
 * Alert evaluator (every minute): every alert rule against its queue's readings (the minute
 * buckets of the analytics recorder, the live backlog), firing and resolving alerts and telling
 * their webhooks (domain/alert-evaluation.ts). Webhooks obey the outbound allow-list, as jobs do.
 */
import middy from '@middy/core';
import { AlertStore } from '#adapters/alert-store';
import { EventSourceScaling, type QueueWiring } from '#adapters/event-source-scaling';
import { MetricsStore } from '#adapters/metrics-store';
import { outboundRequest } from '#adapters/outbound-http';
import { type AlertPorts, evaluateAlerts, type RuleOutcome } from '#domain/alert-evaluation';
import { parseAllowList } from '#domain/outbound-policy';
import { envInt, requireEnv, requireJsonEnv } from '#shared/env';
import { logger } from '#shared/logger';

const metrics = new MetricsStore(requireEnv('METRICS_TABLE'), envInt('METRICS_RETENTION_DAYS', 30));
const scaling = new EventSourceScaling(requireJsonEnv<QueueWiring>('QUEUE_WIRING'));
const store = new AlertStore(requireEnv('OPERATIONS_TABLE'));
const allowList = parseAllowList(process.env.OUTBOUND_ALLOW_LIST);

const ports: AlertPorts = {
  rules: () => store.rules(),
  setState: (ruleId, state, version) => store.setState(ruleId, state, version),
  openAlert: (alert) => store.openAlert(alert),
  resolveAlert: (alertId, at, value, because) => store.resolveAlert(alertId, at, value, because),
  alert: (alertId) => store.alert(alertId),
  addNotices: (alertId, notices) => store.addNotices(alertId, notices),
  buckets: (queue, from, to, type) => metrics.buckets('minute', queue, from, to, type),
  backlog: async (queue) => (await scaling.depth(queue)).depth,
  queues: () => scaling.queues(),
  notify: async (action, body) => {
    if (action.type !== 'webhook')
      return { delivered: false, error: `${action.type} actions are not delivered` };
    try {
      const response = await outboundRequest(
        action.url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-robot-factory-alert': body.alertId },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(5000),
          maxBytes: 64 * 1024,
        },
        allowList,
      );
      return response.status < 300
        ? { delivered: true, status: response.status }
        : { delivered: false, status: response.status, error: `answered ${response.status}` };
    } catch (error) {
      return { delivered: false, error: (error as Error).message };
    }
  },
};

export const handler = middy<unknown, { outcomes: RuleOutcome[] }>().handler(async () => {
  const outcomes = await evaluateAlerts(ports, new Date());
  for (const outcome of outcomes) {
    if (outcome.error) logger.error('Evaluating an alert rule failed', { ...outcome });
    else if (outcome.transition) logger.info(`Alert ${outcome.transition}`, { ...outcome });
  }
  return { outcomes };
});
