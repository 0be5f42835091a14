/**
 * Alert rules and their alerts: POST /alerts/rules, GET /alerts/rules, GET/PATCH/DELETE
 * /alerts/rules/{ruleId}, GET /alerts (newest first, firing and resolved; the rules' alerts and
 * the anomaly watch's, `?source=` to tell them apart). Evaluated every minute by
 * scheduled/alert-evaluator.ts (domain/alerts.ts says how).
 */
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod';
import { AlertStore } from '#adapters/alert-store';
import {
  type AlertAction,
  type AlertRule,
  type AlertRuleRequest,
  alertRulePatchSchema,
  alertRuleRequestSchema,
  freshState,
} from '#domain/alerts';
import { allQueueNames } from '#domain/job-queues';
import { requireEnv } from '#shared/env';
import { byRoute, httpRoute, json } from '#shared/http';
import { badRequest, conflict, notFound } from '#shared/http-errors';

const store = new AlertStore(requireEnv('OPERATIONS_TABLE'));
const idPath = z.object({ ruleId: z.string().min(1).max(100) });
const isoTime = z.string().meta({ format: 'date-time' });
const condition = alertRuleRequestSchema.shape.condition;

/** A rule as stored: what was asked for, and the evaluator's state of it (domain/alerts.ts). */
const ruleSchema = alertRuleRequestSchema
  .extend({
    ruleId: z.string(),
    createdAt: isoTime,
    updatedAt: isoTime,
    state: z.looseObject({
      status: z.enum(['ok', 'firing']),
      breaches: z.int().min(0).describe('Breaching evaluations in a row'),
      version: z.int(),
      alertId: z.string().optional(),
      lastValue: z.number().nullable().optional(),
      lastEvaluatedAt: isoTime.optional(),
      pendingNotice: z.enum(['fired', 'resolved']).optional(),
    }),
  })
  .loose()
  .meta({ id: 'AlertRule' });

const alertSchema = z
  .looseObject({
    alertId: z.string(),
    ruleId: z.string(),
    name: z.string(),
    condition,
    status: z.enum(['firing', 'resolved']),
    firedAt: isoTime,
    value: z.number().nullable(),
    expected: z.object({ low: z.number(), high: z.number() }).optional(),
    detail: z.string().optional(),
    resolvedAt: isoTime.optional(),
    resolvedValue: z.number().nullable().optional(),
    resolvedBecause: z.string().optional(),
    notices: z
      .array(z.looseObject({ transition: z.enum(['fired', 'resolved']), action: z.string() }))
      .optional(),
    source: z.enum(['rule', 'anomaly-detector']).optional(),
  })
  .meta({ id: 'Alert' });

/**
 * What a rule may name and do, checked before anything is written. An SNS topic must be the
 * factory's own account's, in its region: the alert evaluator may publish there and nowhere else
 * (said plainly rather than accepted and never delivered).
 */
function checkRule(
  rule: Pick<AlertRuleRequest, 'condition' | 'actions'>,
  event: APIGatewayProxyEventV2,
): void {
  const { queue } = rule.condition;
  if (queue && !allQueueNames.includes(queue))
    throw badRequest('UNKNOWN_QUEUE', `No queue ${queue}`, { queue, queues: allQueueNames });
  const account = event.requestContext?.accountId;
  const region = process.env.AWS_REGION;
  const foreign = rule.actions.filter((a: AlertAction) => {
    if (a.type !== 'sns') return false;
    const [, , , topicRegion, topicAccount] = a.topicArn.split(':');
    return (region && topicRegion !== region) || (account && topicAccount !== account);
  });
  if (foreign.length)
    throw badRequest(
      'TOPIC_NOT_ALLOWED',
      `SNS topics of this factory's account (${account ?? 'unknown'}) in ${region ?? 'its region'} only: the alert evaluator may publish to nothing else`,
      { actions: foreign, account: account ?? null, region: region ?? null },
    );
}

const create = httpRoute(
  { body: alertRuleRequestSchema, responses: { 201: ruleSchema } },
  async ({ body, event }) => {
    checkRule(body, event);
    const now = new Date().toISOString();
    const rule: AlertRule = {
      ...body,
      ruleId: `rule_${Date.now().toString(36)}${randomBytes(4).toString('hex')}`,
      createdAt: now,
      updatedAt: now,
      state: freshState(0),
    };
    await store.putRule(rule);
    return json(201, rule);
  },
);

const list = httpRoute({ responses: { 200: z.object({ rules: z.array(ruleSchema) }) } }, async () =>
  json(200, { rules: await store.rules() }),
);

const get = httpRoute({ path: idPath, responses: { 200: ruleSchema } }, async ({ path }) => {
  const rule = await store.rule(path.ruleId);
  if (!rule) throw notFound('RULE_NOT_FOUND', `No alert rule ${path.ruleId}`);
  return json(200, rule);
});

/**
 * A changed condition or a disabled rule starts its count again; an alert it had open resolves
 * ("rule changed"), since what it measured is no longer what the rule says.
 */
const patch = httpRoute(
  { path: idPath, body: alertRulePatchSchema, responses: { 200: ruleSchema } },
  async ({ path, body, event }) => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const rule = await store.rule(path.ruleId);
      if (!rule) throw notFound('RULE_NOT_FOUND', `No alert rule ${path.ruleId}`);
      const next = { ...rule, ...body, updatedAt: new Date().toISOString() };
      checkRule(next, event);
      const restarts = body.condition !== undefined || body.enabled === false;
      const state = restarts
        ? freshState(rule.state.version + 1)
        : { ...rule.state, version: rule.state.version + 1 };
      if (!(await store.replaceRule({ ...next, state }, rule.state.version))) continue;
      if (restarts && rule.state.status === 'firing' && rule.state.alertId)
        await store.resolveAlert(rule.state.alertId, next.updatedAt, null, 'rule changed');
      return json(200, { ...next, state });
    }
    throw conflict('RULE_BUSY', 'The rule kept changing while it was edited; try again');
  },
);

const remove = httpRoute(
  { path: idPath, responses: { 204: { description: 'Deleted' } } },
  async ({ path }) => {
    const rule = await store.deleteRule(path.ruleId);
    if (!rule) throw notFound('RULE_NOT_FOUND', `No alert rule ${path.ruleId}`);
    if (rule.state.status === 'firing' && rule.state.alertId)
      await store.resolveAlert(rule.state.alertId, new Date().toISOString(), null, 'rule deleted');
    return { statusCode: 204, body: '' };
  },
);

const alertsQuery = z
  .object({
    status: z.enum(['firing', 'resolved']).optional(),
    ruleId: z.string().min(1).max(100).optional(),
    /** `rule`: opened by an alert rule; `anomaly-detector`: by the anomaly watch, without a rule. */
    source: z.enum(['rule', 'anomaly-detector']).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

const alerts = httpRoute(
  { query: alertsQuery, responses: { 200: z.object({ alerts: z.array(alertSchema) }) } },
  async ({ query }) => {
    // The alerts partition is small (one item per alert, expiring with the retention): filter here.
    const found = (await store.alerts(1000)).filter(
      (a) =>
        (!query.status || a.status === query.status) &&
        (!query.ruleId || a.ruleId === query.ruleId) &&
        (!query.source || (a.source ?? 'rule') === query.source),
    );
    return json(200, { alerts: found.slice(0, query.limit) });
  },
);

export const handler = byRoute({
  'POST /alerts/rules': create,
  'GET /alerts/rules': list,
  'GET /alerts/rules/{ruleId}': get,
  'PATCH /alerts/rules/{ruleId}': patch,
  'DELETE /alerts/rules/{ruleId}': remove,
  'GET /alerts': alerts,
});
