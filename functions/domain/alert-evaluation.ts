/**
 * One minute's evaluation of every alert rule (domain/alerts.ts): read what each rule watches,
 * claim its transition with a conditional write, then open or resolve its alert and tell its
 * actions. A notice that was claimed but not told (the evaluator died) is told first, on the
 * next evaluation.
 */
import {
  type Alert,
  type AlertAction,
  type AlertCondition,
  type AlertRule,
  anomalyReading,
  evaluateRule,
  minuteReadings,
  type Notice,
  noticeBody,
  type Reading,
  type RuleState,
  readingWindowMinutes,
  windowReading,
} from './alerts.ts';
import type { StoredBucket } from './throughput.ts';

export interface AlertPorts {
  readonly rules: () => Promise<AlertRule[]>;
  readonly setState: (ruleId: string, state: RuleState, expectedVersion: number) => Promise<boolean>;
  readonly openAlert: (alert: Alert) => Promise<void>;
  readonly resolveAlert: (
    alertId: string,
    at: string,
    value: number | null,
    because?: string,
  ) => Promise<Alert | undefined>;
  readonly alert: (alertId: string) => Promise<Alert | undefined>;
  readonly addNotices: (alertId: string, notices: readonly Notice[]) => Promise<void>;
  /** Minute buckets of a queue (all types unless one is named), from ≤ t < to. */
  readonly buckets: (queue: string, from: Date, to: Date, type?: string) => Promise<StoredBucket[]>;
  /** Jobs waiting in a queue now. */
  readonly backlog: (queue: string) => Promise<number>;
  /** Every queue (a rule without one watches them all). */
  readonly queues: () => readonly string[];
  readonly notify: (
    action: AlertAction,
    body: ReturnType<typeof noticeBody>,
  ) => Promise<Omit<Notice, 'at' | 'transition' | 'action' | 'to'>>;
}

export interface RuleOutcome {
  readonly ruleId: string;
  readonly value: number | null;
  readonly status: RuleState['status'];
  readonly transition?: 'fired' | 'resolved';
  /** Another evaluation wrote the rule first: this one stood back. */
  readonly superseded?: boolean;
  readonly error?: string;
}

/** How far back the anomaly reading looks for the queue's own history. */
const anomalyHistoryMinutes = 120;

/** The rule's reading now: over all queues, a rule without a queue takes the worst one. */
export async function readingFor(condition: AlertCondition, ports: AlertPorts, now: Date): Promise<Reading> {
  const queues = condition.queue ? [condition.queue] : ports.queues();
  const readings = await Promise.all(queues.map((queue) => queueReading(condition, queue, ports, now)));
  const judged = readings.filter((r) => r.value !== null);
  if (judged.length === 0) return { value: null };
  return judged.reduce((worst, r) =>
    (condition.op === '>' ? (r.value ?? 0) > (worst.value ?? 0) : (r.value ?? 0) < (worst.value ?? 0))
      ? r
      : worst,
  );
}

async function queueReading(
  condition: AlertCondition,
  queue: string,
  ports: AlertPorts,
  now: Date,
): Promise<Reading> {
  const { metric, type } = condition;
  if (metric === 'backlog') return { value: await ports.backlog(queue) };
  const windowStart = new Date(
    Math.floor(now.getTime() / 60_000) * 60_000 - (readingWindowMinutes - 1) * 60_000,
  );
  const end = new Date(now.getTime() + 1);
  if (metric !== 'anomaly') return windowReading(metric, await ports.buckets(queue, windowStart, end, type));
  const buckets = await ports.buckets(
    queue,
    new Date(windowStart.getTime() - anomalyHistoryMinutes * 60_000),
    end,
    type,
  );
  const past = buckets.filter((b) => Date.parse(b.bucket) < windowStart.getTime());
  const recent = buckets.filter((b) => Date.parse(b.bucket) >= windowStart.getTime());
  const reading = anomalyReading(minuteReadings(past), {
    failureRate: windowReading('failure_rate', recent).value,
    p95RunMs: windowReading('p95_run_ms', recent).value,
    throughput: windowReading('throughput', recent).value ?? 0,
  });
  return reading.detail ? { ...reading, detail: `${queue}: ${reading.detail}` } : reading;
}

/** Every rule, one after the other (a rule that fails is reported and the others go on). */
export async function evaluateAlerts(ports: AlertPorts, now: Date): Promise<RuleOutcome[]> {
  const outcomes: RuleOutcome[] = [];
  for (const rule of await ports.rules()) {
    try {
      outcomes.push(await evaluateOne(rule, ports, now));
    } catch (error) {
      outcomes.push({ ruleId: rule.ruleId, value: null, status: rule.state.status, error: String(error) });
    }
  }
  return outcomes;
}

async function evaluateOne(rule: AlertRule, ports: AlertPorts, now: Date): Promise<RuleOutcome> {
  let current = rule;
  if (current.state.pendingNotice) {
    const told = await tell(current, current.state, ports, now, undefined);
    if (!told) return { ruleId: rule.ruleId, value: null, status: rule.state.status, superseded: true };
    current = { ...current, state: told };
  }
  const reading = current.enabled ? await readingFor(current.condition, ports, now) : { value: null };
  const evaluation = evaluateRule(current, reading, now);
  if (!(await ports.setState(current.ruleId, evaluation.state, current.state.version)))
    return { ruleId: rule.ruleId, value: reading.value, status: current.state.status, superseded: true };
  if (evaluation.transition) await tell(current, evaluation.state, ports, now, reading);
  return {
    ruleId: rule.ruleId,
    value: reading.value,
    status: evaluation.state.status,
    transition: evaluation.transition,
  };
}

/**
 * Opens or resolves the alert of a claimed transition and tells the rule's actions, then
 * clears the pending notice. Returns the state written, or undefined if another evaluation
 * wrote the rule in between (it tells instead).
 */
async function tell(
  rule: AlertRule,
  state: RuleState,
  ports: AlertPorts,
  now: Date,
  reading: Reading | undefined,
): Promise<RuleState | undefined> {
  const transition = state.pendingNotice;
  const alertId = state.alertId;
  if (!transition || !alertId) return state;
  let alert: Alert | undefined;
  if (transition === 'fired') {
    await ports.openAlert({
      alertId,
      ruleId: rule.ruleId,
      name: rule.name,
      condition: rule.condition,
      status: 'firing',
      firedAt: state.lastEvaluatedAt ?? now.toISOString(),
      value: reading?.value ?? state.lastValue ?? null,
      ...(reading?.expected ? { expected: reading.expected } : {}),
      ...(reading?.detail ? { detail: reading.detail } : {}),
    });
    alert = await ports.alert(alertId);
  } else {
    alert = await ports.resolveAlert(
      alertId,
      state.lastEvaluatedAt ?? now.toISOString(),
      state.lastValue ?? null,
    );
  }
  // Each action hears of each transition once: a redelivery skips the ones already told.
  const told = new Set(
    (alert?.notices ?? []).filter((n) => n.transition === transition).map((n) => n.action + n.to),
  );
  if (alert) {
    const body = noticeBody(alert, transition);
    const notices: Notice[] = [];
    for (const action of rule.actions) {
      const to = targetOf(action);
      if (told.has(action.type + to)) continue;
      const result = await ports
        .notify(action, body)
        .catch((error) => ({ delivered: false, error: String(error) }));
      notices.push({ transition, action: action.type, to, at: now.toISOString(), ...result });
    }
    await ports.addNotices(alertId, notices);
  }
  const { pendingNotice: _p, ...rest } = state;
  const cleared: RuleState = { ...rest, version: state.version + 1 };
  return (await ports.setState(rule.ruleId, cleared, state.version)) ? cleared : undefined;
}

export const targetOf = (action: AlertAction): string =>
  action.type === 'webhook' ? action.url : action.type === 'email' ? action.to : action.topicArn;
