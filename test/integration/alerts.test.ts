/**
 * Alert rules over HTTP: a rule on the default queue's fail_sometimes jobs fires when they fail,
 * tells its webhook once, publishes alert.fired, and resolves (once) when they succeed again.
 * The evaluator is the stack's minute task, invoked here so the test need not wait for the clock
 * (its own schedule may evaluate in between: the assertions read the alerts, not one tick).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  api,
  bearer,
  eventsListed,
  invokeFunction,
  submitJob,
  waitForJob,
} from '../helpers/factory-client.ts';

const told: { type: string; ruleId: string; value: number }[] = [];
let hook: Server;
let hookUrl: string;

beforeAll(async () => {
  hook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      told.push(JSON.parse(body));
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
});
afterAll(() => {
  // The evaluator's keep-alive sockets would hold the test process open.
  hook.closeAllConnections();
  hook.close();
});

type AlertEvent = { type: string; queue?: string; data: { ruleId: string } };

const failing = (probability: number, n: number) =>
  Promise.all(
    Array.from({ length: n }, () =>
      submitJob({ queue: 'default', type: 'fail_sometimes', payload: { probability }, maxAttempts: 1 }),
    ),
  );

describe('alert rules', () => {
  it('refuse what they cannot watch or deliver, and viewers', async () => {
    const base = { name: 'r', condition: { metric: 'backlog', queue: 'default', op: '>', threshold: 1 } };
    const unknownMetric = await api('POST', '/alerts/rules', {
      ...base,
      condition: { ...base.condition, metric: 'mood' },
    });
    expect(unknownMetric.status).toBe(400);
    expect(unknownMetric.body.error.code).toBe('VALIDATION_FAILED');
    const unknownQueue = await api('POST', '/alerts/rules', {
      ...base,
      condition: { ...base.condition, queue: 'nowhere' },
    });
    expect(unknownQueue).toMatchObject({ status: 400, body: { error: { code: 'UNKNOWN_QUEUE' } } });
    const email = await api('POST', '/alerts/rules', {
      ...base,
      actions: [{ type: 'email', to: 'ops@example.com' }],
    });
    expect(email).toMatchObject({ status: 400, body: { error: { code: 'ACTION_NOT_AVAILABLE' } } });
    const viewer = await api('POST', '/alerts/rules', base, bearer('viewer'));
    expect(viewer.status).toBe(403);
    expect((await api('GET', '/alerts/rules', undefined, bearer('viewer'))).status).toBe(200);
    expect((await api('PATCH', '/alerts/rules/rule_nope', { enabled: false })).status).toBe(404);
    expect((await api('GET', '/alerts?status=sideways')).status).toBe(400);
  });

  it('fire once when failures pass the threshold and resolve once when they recover', {
    timeout: 240_000,
  }, async () => {
    const created = await api('POST', '/alerts/rules', {
      name: 'fail_sometimes failing',
      condition: {
        metric: 'failure_rate',
        queue: 'default',
        type: 'fail_sometimes',
        op: '>',
        threshold: 0.5,
        forMinutes: 1,
      },
      actions: [{ type: 'webhook', url: hookUrl }],
    });
    expect(created.status).toBe(201);
    const { ruleId } = created.body;
    expect(created.body).toMatchObject({ enabled: true, state: { status: 'ok', breaches: 0 } });
    try {
      // Fail: four jobs that fail their only attempt.
      for (const { jobId } of await failing(1, 4)) expect((await waitForJob(jobId)).status).toBe('DEAD');
      const fired = await vi.waitFor(
        async () => {
          await invokeFunction('AlertEvaluator');
          const { body } = await api('GET', `/alerts?ruleId=${ruleId}`, undefined, bearer('viewer'));
          expect(body.alerts).toHaveLength(1);
          expect(body.alerts[0].notices?.length).toBe(1);
          return body.alerts[0];
        },
        { timeout: 60_000, interval: 1_000 },
      );
      expect(fired).toMatchObject({
        ruleId,
        status: 'firing',
        notices: [{ transition: 'fired', action: 'webhook', delivered: true, status: 204 }],
      });
      expect(fired.value).toBeGreaterThan(0.5);
      expect(told.filter((t) => t.ruleId === ruleId)).toMatchObject([
        { type: 'alert.fired', value: fired.value },
      ]);

      // Recover: succeeding jobs bring the window's failure rate under the threshold (more rounds
      // if other files' fail_sometimes jobs fail in the same minutes).
      const resolved = await vi.waitFor(
        async () => {
          for (const { jobId } of await failing(0, 8)) await waitForJob(jobId);
          await invokeFunction('AlertEvaluator');
          const { body } = await api('GET', `/alerts?ruleId=${ruleId}`);
          expect(body.alerts[0].status).toBe('resolved');
          return body.alerts[0];
        },
        { timeout: 150_000, interval: 500 },
      );
      expect(resolved.resolvedValue).toBeLessThanOrEqual(0.5);
      // A few more evaluations: nothing more is told (one fired, one resolved).
      await invokeFunction('AlertEvaluator');
      await invokeFunction('AlertEvaluator');
      const { body } = await api('GET', `/alerts?ruleId=${ruleId}`);
      expect(body.alerts).toHaveLength(1);
      expect(body.alerts[0].notices.map((n: { transition: string }) => n.transition)).toEqual([
        'fired',
        'resolved',
      ]);
      expect(told.filter((t) => t.ruleId === ruleId).map((t) => t.type)).toEqual([
        'alert.fired',
        'alert.resolved',
      ]);
      // And both are events of the stream.
      await vi.waitFor(
        async () => {
          const mine = (
            await eventsListed<AlertEvent>(
              'type=alert.fired,alert.resolved&limit=500',
              (seen) => seen.filter((e) => e.data.ruleId === ruleId).length >= 2,
            )
          ).filter((e) => e.data.ruleId === ruleId);
          expect(mine.map((e: { type: string }) => e.type)).toEqual(['alert.fired', 'alert.resolved']);
          expect(mine[0]).toMatchObject({
            queue: 'default',
            data: { metric: 'failure_rate', threshold: 0.5 },
          });
        },
        { timeout: 30_000, interval: 500 },
      );
    } finally {
      expect((await api('DELETE', `/alerts/rules/${ruleId}`)).status).toBe(204);
    }
    expect((await api('GET', `/alerts/rules/${ruleId}`)).status).toBe(404);
  });

  it('resolve an open alert when its rule is changed, saying why', async () => {
    const created = await api('POST', '/alerts/rules', {
      name: 'always',
      condition: { metric: 'throughput', queue: 'reports', op: '>', threshold: -1 },
    });
    const { ruleId } = created.body;
    await vi.waitFor(
      async () => {
        await invokeFunction('AlertEvaluator');
        const { body } = await api('GET', `/alerts?ruleId=${ruleId}&status=firing`);
        expect(body.alerts).toHaveLength(1);
      },
      { timeout: 30_000, interval: 500 },
    );
    const patched = await api('PATCH', `/alerts/rules/${ruleId}`, {
      condition: { metric: 'throughput', queue: 'reports', op: '<', threshold: -1 },
    });
    expect(patched).toMatchObject({
      status: 200,
      body: { condition: { op: '<' }, state: { status: 'ok', breaches: 0 } },
    });
    const { body } = await api('GET', `/alerts?ruleId=${ruleId}`);
    expect(body.alerts).toMatchObject([{ status: 'resolved', resolvedBecause: 'rule changed' }]);
    expect((await api('DELETE', `/alerts/rules/${ruleId}`)).status).toBe(204);
  });
});
