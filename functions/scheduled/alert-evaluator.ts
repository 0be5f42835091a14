/**
 * Alert evaluator (every minute): every alert rule against its queue's readings (the minute
 * buckets of the analytics recorder, the live backlog), firing and resolving alerts and telling
 * their webhooks (domain/alert-evaluation.ts); then the anomaly watch over every queue and type,
 * which opens and resolves alerts of its own without a rule (ANOMALY_WATCH=off turns it off).
 * Webhooks obey the outbound allow-list, as jobs do; e-mail notices go to the outbox, SNS notices
 * to the rule's topic.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { AlertStore } from '#adapters/alert-store';
import { EventSourceScaling, type QueueWiring } from '#adapters/event-source-scaling';
import { MetricsStore } from '#adapters/metrics-store';
import { outboundRequest } from '#adapters/outbound-http';
import { OutboxStore } from '#adapters/outbox-store';
import { publishToTopic } from '#adapters/topic-publisher';
import {
  type AlertPorts,
  type AnomalyWatchPorts,
  deliverNotice,
  detectAnomalies,
  evaluateAlerts,
  type NoticeChannels,
  type RuleOutcome,
} from '#domain/alert-evaluation';
import { parseAllowList } from '#domain/outbound-policy';
import type { StoredBucket } from '#domain/throughput';
import { envInt, requireEnv, requireJsonEnv } from '#shared/env';
import { logger } from '#shared/logger';

const metrics = new MetricsStore(requireEnv('METRICS_TABLE'), envInt('METRICS_RETENTION_DAYS', 30));
const scaling = new EventSourceScaling(requireJsonEnv<QueueWiring>('QUEUE_WIRING'));
const store = new AlertStore(requireEnv('OPERATIONS_TABLE'));
const outbox = new OutboxStore(requireEnv('OUTBOX_TABLE'), envInt('OUTBOX_RETENTION_DAYS', 30));
const allowList = parseAllowList(process.env.OUTBOUND_ALLOW_LIST);
const anomalyWatch = process.env.ANOMALY_WATCH !== 'off';

/**
 * Hour buckets of past days change no more: kept per warm instance for the hour they serve
 * (every rule and the watch of a queue read the same seven), dropped when the hour turns.
 */
const hourCache = { hour: '', entries: new Map<string, Promise<StoredBucket[]>>() };
function hourBuckets(queue: string, hours: readonly Date[], type?: string): Promise<StoredBucket[]> {
  const hour = hours[0]?.toISOString() ?? '';
  if (hourCache.hour !== hour) hourCache.entries.clear();
  hourCache.hour = hour;
  const key = `${queue}|${type ?? ''}`;
  let found = hourCache.entries.get(key);
  if (!found) {
    found = Promise.all(
      hours.map((h) => metrics.buckets('hour', queue, h, new Date(h.getTime() + 3_600_000), type)),
    ).then((lists) => lists.flat());
    found.catch(() => hourCache.entries.delete(key));
    hourCache.entries.set(key, found);
  }
  return found;
}

/** Webhooks through the outbound policy; e-mail into the outbox send_email delivers to; SNS topics. */
const channels: NoticeChannels = {
  mail: (mail) => outbox.deliver(mail),
  topic: (message) => publishToTopic(message),
  webhook: async (url, body) => {
    try {
      const response = await outboundRequest(
        url,
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

const ports: AlertPorts & AnomalyWatchPorts = {
  rules: () => store.rules(),
  setState: (ruleId, state, version) => store.setState(ruleId, state, version),
  openAlert: (alert) => store.openAlert(alert),
  resolveAlert: (alertId, at, value, because) => store.resolveAlert(alertId, at, value, because),
  alert: (alertId) => store.alert(alertId),
  addNotices: (alertId, notices) => store.addNotices(alertId, notices),
  buckets: (queue, from, to, type) => metrics.buckets('minute', queue, from, to, type),
  hourBuckets,
  watchStates: () => store.watchStates(),
  setWatchState: (scope, state, version) => store.setWatchState(scope, state, version),
  backlog: async (queue) => (await scaling.depth(queue)).depth,
  queues: () => scaling.queues(),
  notify: (action, body) => deliverNotice(action, body, channels, new Date()),
};

export const handler = middy<unknown, { outcomes: RuleOutcome[]; anomalies: RuleOutcome[] }>()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    const now = new Date();
    const outcomes = await evaluateAlerts(ports, now);
    const anomalies = anomalyWatch ? await detectAnomalies(ports, now) : [];
    for (const outcome of [...outcomes, ...anomalies]) {
      if (outcome.error) logger.error('Evaluating an alert rule failed', { ...outcome });
      else if (outcome.transition) logger.info(`Alert ${outcome.transition}`, { ...outcome });
    }
    return { outcomes, anomalies };
  });
