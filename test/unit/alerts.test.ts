import { describe, expect, it } from 'vitest';
import {
  type AlertPorts,
  type AnomalyWatchPorts,
  deliverNotice,
  detectAnomalies,
  evaluateAlerts,
  type NoticeChannels,
  sameHourOnPreviousDays,
} from '#domain/alert-evaluation';
import {
  type Alert,
  type AlertMail,
  type AlertRule,
  type AlertTopicMessage,
  alertMail,
  alertRuleRequestSchema,
  alertTopicMessage,
  anomalyReading,
  evaluateRule,
  freshState,
  hourOfDayBaseline,
  type MinuteReadings,
  type Notice,
  noticeBody,
  type RuleState,
  windowReading,
} from '#domain/alerts';
import { bucketOf } from '#domain/histogram';
import type { StoredBucket } from '#domain/throughput';

const rule = (
  condition: Partial<AlertRule['condition']> = {},
  actions: AlertRule['actions'] = [],
): AlertRule => ({
  ...alertRuleRequestSchema.parse({
    name: 'backlog high',
    condition: { metric: 'backlog', queue: 'default', op: '>', threshold: 10, ...condition },
    actions,
  }),
  ruleId: 'rule_1',
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
  state: freshState(0),
});

const minute = (n: number) => new Date(Date.UTC(2026, 11, 2, 12, n, 30));

/** An in-memory operations table and a webhook that records what it was told. */
function fakes(readings: { backlog: number[] }) {
  const rules = new Map<string, AlertRule>();
  const alerts = new Map<string, Alert>();
  const told: { url: string; type: string; value: number | null }[] = [];
  let tick = 0;
  let failNextNotify = false;
  const ports: AlertPorts = {
    rules: async () => [...rules.values()].map((r) => structuredClone(r)),
    setState: async (ruleId, state: RuleState, version) => {
      const current = rules.get(ruleId);
      if (!current || current.state.version !== version) return false;
      rules.set(ruleId, { ...current, state });
      return true;
    },
    openAlert: async (alert) => {
      if (!alerts.has(alert.alertId)) alerts.set(alert.alertId, alert);
    },
    resolveAlert: async (alertId, at, value, because) => {
      const alert = alerts.get(alertId);
      if (alert?.status !== 'firing') return alert;
      const resolved: Alert = {
        ...alert,
        status: 'resolved',
        resolvedAt: at,
        resolvedValue: value,
        resolvedBecause: because,
      };
      alerts.set(alertId, resolved);
      return resolved;
    },
    alert: async (alertId) => alerts.get(alertId),
    addNotices: async (alertId, notices: readonly Notice[]) => {
      const alert = alerts.get(alertId);
      if (alert) alerts.set(alertId, { ...alert, notices: [...(alert.notices ?? []), ...notices] });
    },
    buckets: async () => [],
    backlog: async () => readings.backlog[tick] ?? 0,
    queues: () => ['default', 'media'],
    notify: async (action, body) => {
      if (failNextNotify) {
        failNextNotify = false;
        throw new Error('evaluator died');
      }
      told.push({ url: action.type === 'webhook' ? action.url : '', type: body.type, value: body.value });
      return { delivered: true, status: 204 };
    },
  };
  return {
    ports,
    rules,
    alerts,
    told,
    next: () => tick++,
    failNotify: () => {
      failNextNotify = true;
    },
  };
}

describe('alert rules', () => {
  it('fire after forMinutes breaching evaluations in a row, and resolve at the first that does not breach', () => {
    let current = rule({ forMinutes: 3 });
    const transitions: (string | undefined)[] = [];
    for (const [i, backlog] of [20, 20, 5, 20, 20, 20, 30, 4, 3].entries()) {
      const { state, transition } = evaluateRule(current, { value: backlog }, minute(i));
      transitions.push(transition);
      current = { ...current, state: { ...state, pendingNotice: undefined } };
    }
    // The dip at minute 2 restarts the count: fired at minute 5, resolved at minute 7, once each.
    expect(transitions).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      'fired',
      undefined,
      'resolved',
      undefined,
    ]);
  });

  it('never breach without data, and a disabled rule resolves what it had open', () => {
    expect(
      evaluateRule(rule({ metric: 'failure_rate', threshold: 0 }), { value: null }, minute(0)).transition,
    ).toBe(undefined);
    const firing = {
      ...rule(),
      state: { ...freshState(4), status: 'firing' as const, breaches: 3, alertId: 'a' },
    };
    expect(evaluateRule({ ...firing, enabled: false }, { value: 99 }, minute(1))).toMatchObject({
      transition: 'resolved',
      state: { status: 'ok', alertId: 'a', version: 5 },
    });
  });

  it('read failure rate, p95 run time and throughput from the minute buckets', () => {
    const buckets: StoredBucket[] = [
      {
        bucket: '2026-12-02T12:00:00.000Z',
        queue: 'default',
        type: 'send_email',
        counters: { completed: 6, failed: 2, [`r${bucketOf(100)}`]: 6 },
      },
      {
        bucket: '2026-12-02T12:01:00.000Z',
        queue: 'default',
        type: 'send_email',
        counters: { completed: 4, failed: 8, [`r${bucketOf(2000)}`]: 4 },
      },
    ];
    expect(windowReading('failure_rate', buckets).value).toBe(0.5);
    expect(windowReading('throughput', buckets).value).toBe(2);
    const p95 = windowReading('p95_run_ms', buckets).value ?? 0;
    expect(p95).toBeGreaterThan(1500);
    expect(p95).toBeLessThan(2500);
    expect(windowReading('failure_rate', []).value).toBe(null);
  });

  it('call a reading anomalous against its own history, with the range it was expected in', () => {
    const history: MinuteReadings[] = Array.from({ length: 60 }, (_, i) => ({
      minute: `m${i}`,
      failureRate: 0.05 + (i % 3) * 0.01,
      p95RunMs: 200 + (i % 5) * 10,
      throughput: 30 + (i % 4),
    }));
    const usual = anomalyReading(history, { failureRate: 0.06, p95RunMs: 215, throughput: 31 });
    expect(usual.value).toBeLessThan(3);
    const spike = anomalyReading(history, { failureRate: 0.6, p95RunMs: 215, throughput: 31 });
    expect(spike.value).toBeGreaterThan(10);
    expect(spike.detail).toMatch(/^failureRate 0.6 against/);
    expect(spike.expected?.high).toBeLessThan(0.6);
    expect(spike.expected?.low).toBeGreaterThanOrEqual(0);
    // Too little history: nothing is anomalous yet.
    expect(anomalyReading(history.slice(0, 10), { failureRate: 1, p95RunMs: 1e6, throughput: 0 }).value).toBe(
      null,
    );
  });
});

describe('the alert evaluation', () => {
  it('opens one alert and tells its webhook once when it fires, once when it resolves', async () => {
    const f = fakes({ backlog: [50, 50, 50, 2, 2] });
    f.rules.set('rule_1', rule({ forMinutes: 2 }, [{ type: 'webhook', url: 'https://hooks.example/a' }]));
    for (let i = 0; i < 5; i++) {
      await evaluateAlerts(f.ports, minute(i));
      f.next();
    }
    expect(f.told).toEqual([
      { url: 'https://hooks.example/a', type: 'alert.fired', value: 50 },
      { url: 'https://hooks.example/a', type: 'alert.resolved', value: 2 },
    ]);
    const [alert] = [...f.alerts.values()];
    expect(f.alerts.size).toBe(1);
    expect(alert).toMatchObject({
      status: 'resolved',
      value: 50,
      resolvedValue: 2,
      firedAt: minute(1).toISOString(),
      resolvedAt: minute(3).toISOString(),
    });
    expect(alert?.notices?.map((n) => [n.transition, n.delivered])).toEqual([
      ['fired', true],
      ['resolved', true],
    ]);
  });

  it('tells a notice claimed by an evaluation that died on the next one', async () => {
    const f = fakes({ backlog: [50, 50] });
    f.rules.set('rule_1', rule({}, [{ type: 'webhook', url: 'https://hooks.example/a' }]));
    f.failNotify();
    await evaluateAlerts(f.ports, minute(0));
    // The notice failed: recorded as undelivered, and the rule still holds the transition it claimed.
    expect([...f.alerts.values()][0]?.notices).toMatchObject([
      { delivered: false, error: 'Error: evaluator died' },
    ]);
    expect(f.rules.get('rule_1')?.state).toMatchObject({ status: 'firing' });
    expect(f.told).toEqual([]);
  });

  it('stands back when another evaluation wrote the rule first', async () => {
    const f = fakes({ backlog: [50] });
    f.rules.set('rule_1', rule());
    const stale = f.ports.rules;
    const snapshot = await stale();
    // Another evaluator moves the rule on between our read and our write.
    await evaluateAlerts(f.ports, minute(0));
    const outcomes = await evaluateAlerts({ ...f.ports, rules: async () => snapshot }, minute(0));
    expect(outcomes).toMatchObject([{ ruleId: 'rule_1', superseded: true }]);
    expect(f.alerts.size).toBe(1);
  });

  it('reads the worst queue for a rule without one', async () => {
    const f = fakes({ backlog: [] });
    f.rules.set('rule_1', rule({ queue: undefined }));
    const outcomes = await evaluateAlerts(
      { ...f.ports, backlog: async (queue) => (queue === 'media' ? 40 : 3) },
      minute(0),
    );
    expect(outcomes).toMatchObject([{ value: 40, transition: 'fired' }]);
  });
});

/** A minute (or hour) bucket of a queue and type with these counts. */
const counted = (
  at: Date,
  completed: number,
  failed = 0,
  type = 'probe',
  queue = 'default',
): StoredBucket => ({
  bucket: at.toISOString(),
  queue,
  type,
  counters: { completed, failed, [`r${bucketOf(200)}`]: completed },
});
const at = (iso: string) => new Date(iso);
const minutesBefore = (end: Date, count: number) =>
  Array.from({ length: count }, (_, i) => new Date(end.getTime() - (count - i) * 60_000));

describe('the anomaly baseline by hour of day', () => {
  // 02:30, after a quiet evening; the queue is busy every night at 2.
  const now = at('2026-12-02T02:30:30.000Z');
  const windowStart = at('2026-12-02T02:26:00.000Z');
  const quietEvening = minutesBefore(windowStart, 90).map((m) => ({
    minute: m.toISOString(),
    failureRate: null,
    p95RunMs: null,
    throughput: 0,
  }));
  const nightlyBurst = { failureRate: 0, p95RunMs: 200, throughput: 10 };

  it('takes the same hour on previous days: mean and mean absolute deviation of each day’s reading', () => {
    const hours = sameHourOnPreviousDays(now);
    expect(hours.map((h) => h.toISOString()).slice(0, 2)).toEqual([
      '2026-12-01T02:00:00.000Z',
      '2026-11-30T02:00:00.000Z',
    ]);
    expect(hours).toHaveLength(7);
    // Completed per minute of the hour: 8, 10, 12 → mean 10, MAD 4/3, σ = 1.25 × 4/3.
    const baseline = hourOfDayBaseline([
      counted(hours[0] as Date, 480),
      counted(hours[1] as Date, 600),
      counted(hours[2] as Date, 720),
    ]);
    expect(baseline.throughput?.mean).toBeCloseTo(10, 10);
    expect(baseline.throughput?.sigma).toBeCloseTo((1.25 * 4) / 3, 10);
    expect(baseline.throughput?.days).toBe(3);
    // Two days are not a baseline.
    expect(hourOfDayBaseline([counted(hours[0] as Date, 480), counted(hours[1] as Date, 600)])).toEqual({});
  });

  it('does not call the nightly burst an anomaly when the previous nights had it too', () => {
    const againstEvening = anomalyReading(quietEvening, nightlyBurst);
    expect(againstEvening.value).toBe(20); // (10 − 0) / the 0.5 floor
    const nights = sameHourOnPreviousDays(now).map((h) => counted(h, 600));
    const withNights = anomalyReading(quietEvening, nightlyBurst, hourOfDayBaseline(nights));
    // Throughput as usual at this hour; p95 within a histogram bucket of the nights' (197 ms).
    expect(withNights.value).toBeLessThan(1);
    expect(withNights.detail).toContain('this hour on the last 7 days');
    // A burst three times the usual night is still one.
    const surge = anomalyReading(
      quietEvening,
      { ...nightlyBurst, throughput: 30 },
      hourOfDayBaseline(nights),
    );
    expect(surge.value).toBe(40);
    expect(surge.expected).toEqual({ low: 8.5, high: 11.5 });
  });
});

describe('the anomaly watch', () => {
  const now = at('2026-12-02T12:30:30.000Z');
  /**
   * Whenever it is read (up to `end`): an hour and a half of 10 completions a minute, then the
   * five minutes of the reading window as given.
   */
  const history = (window: { completed: number; failed: number }) => (end: Date) => {
    const windowStart = new Date(Math.floor(end.getTime() / 60_000) * 60_000 - 4 * 60_000);
    return [
      ...minutesBefore(windowStart, 90).map((m) => counted(m, 10)),
      ...Array.from({ length: 5 }, (_, i) =>
        counted(new Date(windowStart.getTime() + i * 60_000), window.completed, window.failed),
      ),
    ];
  };

  function watchFakes() {
    const f = fakes({ backlog: [] });
    const states = new Map<string, RuleState>();
    let writes = 0;
    let data: (end: Date) => StoredBucket[] = () => [];
    const ports: AlertPorts & AnomalyWatchPorts = {
      ...f.ports,
      buckets: async (queue, from, to, type) =>
        data(to).filter(
          (b) =>
            b.queue === queue &&
            (!type || b.type === type) &&
            Date.parse(b.bucket) >= from.getTime() &&
            Date.parse(b.bucket) < to.getTime(),
        ),
      watchStates: async () => new Map(states),
      setWatchState: async (scope, state, version) => {
        if ((states.get(scope)?.version ?? 0) !== version) return false;
        states.set(scope, state);
        writes++;
        return true;
      },
    };
    return {
      ...f,
      ports,
      states,
      writes: () => writes,
      use: (buckets: (end: Date) => StoredBucket[]) => {
        data = buckets;
      },
    };
  }

  it('opens an alert without a rule after two anomalous minutes, once, and resolves it once', async () => {
    const f = watchFakes();
    f.use(history({ completed: 2, failed: 8 }));
    expect(await detectAnomalies(f.ports, now)).toEqual([]);
    expect(f.alerts.size).toBe(0);
    const second = await detectAnomalies(f.ports, new Date(now.getTime() + 60_000));
    expect(second.map((o) => [o.ruleId, o.transition])).toEqual([
      ['anomaly:default', 'fired'],
      ['anomaly:default/probe', 'fired'],
    ]);
    const alerts = [...f.alerts.values()];
    expect(alerts).toHaveLength(2);
    expect(alerts[0]).toMatchObject({
      source: 'anomaly-detector',
      status: 'firing',
      name: 'Anomaly on default',
      condition: { metric: 'anomaly', queue: 'default', op: '>', threshold: 4, forMinutes: 2 },
      expected: { low: expect.any(Number), high: expect.any(Number) },
    });
    expect(alerts[0]?.value).toBeGreaterThan(4);
    // Still anomalous: nothing new opens.
    await detectAnomalies(f.ports, new Date(now.getTime() + 120_000));
    expect(f.alerts.size).toBe(2);
    // Usual again: each resolves.
    f.use(history({ completed: 10, failed: 0 }));
    const resolved = await detectAnomalies(f.ports, new Date(now.getTime() + 180_000));
    expect(resolved.map((o) => o.transition)).toEqual(['resolved', 'resolved']);
    expect([...f.alerts.values()].map((a) => a.status)).toEqual(['resolved', 'resolved']);
    // Nobody to tell: the watch has no actions (an anomaly rule does).
    expect(f.told).toEqual([]);
  });

  it('writes nothing while everything is usual, and watches no queue without data', async () => {
    const f = watchFakes();
    f.use(history({ completed: 10, failed: 0 }));
    for (let i = 0; i < 3; i++) await detectAnomalies(f.ports, new Date(now.getTime() + i * 60_000));
    expect(f.writes()).toBe(0);
    expect(f.alerts.size).toBe(0);
  });

  it('stands back when another evaluator wrote the scope first', async () => {
    const f = watchFakes();
    f.use(history({ completed: 2, failed: 8 }));
    await detectAnomalies(f.ports, now);
    const seen = await f.ports.watchStates();
    await detectAnomalies(f.ports, new Date(now.getTime() + 60_000));
    const late = await detectAnomalies(
      { ...f.ports, watchStates: async () => seen },
      new Date(now.getTime() + 60_000),
    );
    expect(late).toEqual([]);
    expect(f.alerts.size).toBe(2);
  });
});

describe('e-mail and SNS notices', () => {
  /**
   * The evaluation's ports with notices delivered by deliverNotice: webhooks recorded, mail in an
   * outbox, SNS messages on their topics (a topic named `…:gone` refuses them).
   */
  function noticeFakes(backlog: number[]) {
    const f = fakes({ backlog });
    const outbox = new Map<string, AlertMail>();
    const called: string[] = [];
    const published: AlertTopicMessage[] = [];
    const channels: NoticeChannels = {
      webhook: async (url) => {
        called.push(url);
        return { delivered: true, status: 204 };
      },
      mail: async (mail) => {
        outbox.set(mail.mailId, mail);
      },
      topic: async (message) => {
        if (message.topicArn.endsWith(':gone')) throw new Error('NotFoundException: Topic does not exist');
        published.push(message);
        return `msg-${published.length}`;
      },
    };
    let clock = minute(0);
    const ports: AlertPorts = {
      ...f.ports,
      notify: (action, body) => deliverNotice(action, body, channels, clock),
    };
    return {
      ...f,
      ports,
      outbox,
      called,
      published,
      evaluate: async (at: Date) => {
        clock = at;
        await evaluateAlerts(ports, at);
        f.next();
      },
    };
  }

  it('put one mail in the outbox when the rule fires and one when it resolves, named on the notices', async () => {
    // Prepare
    const f = noticeFakes([50, 50, 2]);
    f.rules.set(
      'rule_1',
      rule({}, [
        { type: 'email', to: 'oncall@example.com' },
        { type: 'webhook', url: 'https://hooks.example/a' },
      ]),
    );

    // Act
    for (let i = 0; i < 3; i++) await f.evaluate(minute(i));

    // Assess
    const alert = [...f.alerts.values()][0] as Alert;
    const mails = [...f.outbox.values()];
    expect(mails.map((m) => [m.transition, m.to, m.subject])).toEqual([
      ['fired', 'oncall@example.com', '[Robot Factory] Alert fired: backlog high'],
      ['resolved', 'oncall@example.com', '[Robot Factory] Alert resolved: backlog high'],
    ]);
    expect(mails[0]).toMatchObject({
      alertId: alert.alertId,
      ruleId: 'rule_1',
      sentAt: minute(0).toISOString(),
    });
    expect(mails[0]?.body).toContain('backlog high: backlog 50 > 10 (queue default) fired');
    expect(mails[1]?.body).toContain(`Resolved at: ${minute(2).toISOString()}`);
    expect(alert.notices?.map((n) => [n.transition, n.action, n.to, n.delivered, n.mailId])).toEqual([
      ['fired', 'email', 'oncall@example.com', true, mails[0]?.mailId],
      ['fired', 'webhook', 'https://hooks.example/a', true, undefined],
      ['resolved', 'email', 'oncall@example.com', true, mails[1]?.mailId],
      ['resolved', 'webhook', 'https://hooks.example/a', true, undefined],
    ]);
    expect(f.called).toHaveLength(2);
  });

  it('name each mail by alert, transition and recipient, so telling a notice again overwrites its mail', () => {
    // Prepare
    const alert: Alert = {
      alertId: '2026-12-02T12:01:30.000Z#rule_1#3',
      ruleId: 'rule_1',
      name: 'emails failing',
      condition: { metric: 'failure_rate', queue: 'notifications', op: '>', threshold: 0.2, forMinutes: 3 },
      status: 'firing',
      firedAt: '2026-12-02T12:01:30.000Z',
      value: 0.45,
      expected: { low: 0, high: 0.1 },
    };

    // Act
    const first = alertMail(noticeBody(alert, 'fired'), 'a@example.com', minute(1));
    const again = alertMail(noticeBody(alert, 'fired'), 'a@example.com', minute(2));
    const other = alertMail(noticeBody(alert, 'fired'), 'b@example.com', minute(1));

    // Assess
    expect(again.mailId).toBe(first.mailId);
    expect(other.mailId).not.toBe(first.mailId);
    expect(first.body).toContain('Condition:   failure_rate > 0.2 on queue notifications, for 3 minutes');
    expect(first.body).toContain('Expected:    0 to 0.1');
    expect(first.body).toContain('GET /alerts?ruleId=rule_1');
  });

  it('publish the webhook’s JSON to an SNS topic, and record a refused publish as undelivered', async () => {
    // Prepare
    const topicArn = 'arn:aws:sns:us-east-1:123456789012:factory-alerts';
    const f = noticeFakes([50, 50, 2]);
    f.rules.set(
      'rule_1',
      rule({}, [
        { type: 'sns', topicArn },
        { type: 'sns', topicArn: 'arn:aws:sns:us-east-1:123456789012:gone' },
      ]),
    );

    // Act
    for (let i = 0; i < 3; i++) await f.evaluate(minute(i));

    // Assess
    expect(f.published.map((m) => [m.topicArn, m.subject, m.attributes])).toEqual([
      [topicArn, 'Alert fired: backlog high', { type: 'alert.fired', ruleId: 'rule_1', queue: 'default' }],
      [
        topicArn,
        'Alert resolved: backlog high',
        { type: 'alert.resolved', ruleId: 'rule_1', queue: 'default' },
      ],
    ]);
    expect(JSON.parse(f.published[0]?.message ?? '{}')).toMatchObject({ type: 'alert.fired', value: 50 });
    const alert = [...f.alerts.values()][0] as Alert;
    expect(alert.notices?.map((n) => [n.transition, n.to, n.delivered, n.messageId ?? n.error])).toEqual([
      ['fired', topicArn, true, 'msg-1'],
      [
        'fired',
        'arn:aws:sns:us-east-1:123456789012:gone',
        false,
        'Error: NotFoundException: Topic does not exist',
      ],
      ['resolved', topicArn, true, 'msg-2'],
      [
        'resolved',
        'arn:aws:sns:us-east-1:123456789012:gone',
        false,
        'Error: NotFoundException: Topic does not exist',
      ],
    ]);
  });

  it('keep an SNS subject within SNS’s 100 printable ASCII characters', () => {
    const notice = noticeBody(
      {
        alertId: 'a',
        ruleId: 'r',
        name: `Fila de e-mails — ${'x'.repeat(120)}`,
        condition: { metric: 'backlog', op: '>', threshold: 1, forMinutes: 1 },
        status: 'firing',
        firedAt: minute(0).toISOString(),
        value: 2,
      },
      'fired',
    );
    const { subject } = alertTopicMessage(notice, 'arn:aws:sns:us-east-1:123456789012:t');
    expect(subject).toHaveLength(100);
    expect(subject).toMatch(/^Alert fired: Fila de e-mails \? x+$/);
  });
});
