/**
 * One minute's evaluation of every alert rule (domain/alerts.ts): read what each rule watches,
 * claim its transition with a conditional write, then open or resolve its alert and tell its
 * actions. A notice that was claimed but not told (the evaluator died) is told first, on the
 * next evaluation.
 *
 * Beside the rules, the anomaly watch (detectAnomalies): every queue, and every type of it,
 * against its own history each minute, without anyone writing a rule — an anomaly held for two
 * minutes opens an alert (source `anomaly-detector`, so `alert.fired` too) that resolves when
 * the readings are usual again. Its state is a small row per watched scope, written only when
 * it changes.
 */
import {
  type Alert,
  type AlertAction,
  type AlertCondition,
  type AlertMail,
  type AlertRule,
  type AlertTopicMessage,
  alertMail,
  alertTopicMessage,
  anomalyReading,
  evaluateRule,
  freshState,
  hourOfDayBaseline,
  hourOfDayDays,
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
  /**
   * Hour buckets of a queue starting at each of these hours (all types unless one is named): the
   * anomaly baseline by hour of day. Without it, anomalies are judged on the last two hours only.
   */
  readonly hourBuckets?: (queue: string, hours: readonly Date[], type?: string) => Promise<StoredBucket[]>;
  /** Jobs waiting in a queue now. */
  readonly backlog: (queue: string) => Promise<number>;
  /** Every queue (a rule without one watches them all). */
  readonly queues: () => readonly string[];
  readonly notify: (action: AlertAction, body: ReturnType<typeof noticeBody>) => Promise<NoticeOutcome>;
}

/** What telling one action came to (the notice adds when, which transition and to whom). */
export type NoticeOutcome = Omit<Notice, 'at' | 'transition' | 'action' | 'to'>;

/** Where an action's notice goes: a webhook's POST, the outbox for e-mail, an SNS topic. */
export interface NoticeChannels {
  readonly webhook: (url: string, body: ReturnType<typeof noticeBody>) => Promise<NoticeOutcome>;
  /** Stores the mail in the outbox (keyed by its mailId: storing it again overwrites it). */
  readonly mail: (mail: AlertMail) => Promise<void>;
  /** Publishes to the topic; the message id. */
  readonly topic: (message: AlertTopicMessage) => Promise<string>;
}

/**
 * Tells one action of a notice: a webhook is called; an e-mail becomes a mail in the outbox
 * that send_email delivers to, recorded on the notice by its mailId; an SNS topic gets the
 * webhook's JSON as one message, recorded by its message id. A channel that throws leaves the
 * notice undelivered with the error (tell records it).
 */
export async function deliverNotice(
  action: AlertAction,
  body: ReturnType<typeof noticeBody>,
  channels: NoticeChannels,
  now: Date,
): Promise<NoticeOutcome> {
  switch (action.type) {
    case 'webhook':
      return channels.webhook(action.url, body);
    case 'email': {
      const mail = alertMail(body, action.to, now);
      await channels.mail(mail);
      return { delivered: true, mailId: mail.mailId };
    }
    case 'sns':
      return { delivered: true, messageId: await channels.topic(alertTopicMessage(body, action.topicArn)) };
  }
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

/** The first minute of the trailing reading window that `now` falls in. */
const windowStartOf = (now: Date) =>
  new Date(Math.floor(now.getTime() / 60_000) * 60_000 - (readingWindowMinutes - 1) * 60_000);

/** The same hour of the day as `now` on each of the previous days. */
export const sameHourOnPreviousDays = (now: Date): Date[] =>
  Array.from(
    { length: hourOfDayDays },
    (_, i) => new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - (i + 1) * 86_400_000),
  );

/**
 * The anomaly reading of one scope from its minute buckets (the two hours before the window and
 * the window) and its hour buckets of the same hour on previous days.
 */
export function anomalyOf(
  minuteBuckets: readonly StoredBucket[],
  hourBuckets: readonly StoredBucket[],
  windowStart: Date,
): Reading {
  const past = minuteBuckets.filter((b) => Date.parse(b.bucket) < windowStart.getTime());
  const recent = minuteBuckets.filter((b) => Date.parse(b.bucket) >= windowStart.getTime());
  return anomalyReading(
    minuteReadings(past),
    {
      failureRate: windowReading('failure_rate', recent).value,
      p95RunMs: windowReading('p95_run_ms', recent).value,
      throughput: windowReading('throughput', recent).value ?? 0,
    },
    hourOfDayBaseline(hourBuckets),
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
  const windowStart = windowStartOf(now);
  const end = new Date(now.getTime() + 1);
  if (metric !== 'anomaly') return windowReading(metric, await ports.buckets(queue, windowStart, end, type));
  const [buckets, hourBuckets] = await Promise.all([
    ports.buckets(queue, new Date(windowStart.getTime() - anomalyHistoryMinutes * 60_000), end, type),
    ports.hourBuckets?.(queue, sameHourOnPreviousDays(now), type) ?? [],
  ]);
  const reading = anomalyOf(buckets, hourBuckets, windowStart);
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
  watch?: { readonly setState: AlertPorts['setState'] },
): Promise<RuleState | undefined> {
  const setState = watch?.setState ?? ports.setState;
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
      ...(watch ? { source: 'anomaly-detector' as const } : {}),
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
  return (await setState(rule.ruleId, cleared, state.version)) ? cleared : undefined;
}

export const targetOf = (action: AlertAction): string =>
  action.type === 'webhook' ? action.url : action.type === 'email' ? action.to : action.topicArn;

/** The anomaly watch's state rows: one per watched scope (`<queue>` or `<queue>/<type>`). */
export interface AnomalyWatchPorts {
  /** The states written so far (a scope without a row is ok, version 0). */
  readonly watchStates: () => Promise<Map<string, RuleState>>;
  /** Writes a scope's state if its version is still `expectedVersion` (0: no row yet). */
  readonly setWatchState: (scope: string, state: RuleState, expectedVersion: number) => Promise<boolean>;
}

/** How anomalous (in spreads) and for how many minutes in a row before the watch opens an alert. */
export const anomalyWatchDefaults = { threshold: 4, forMinutes: 2 } as const;

const watchIdPrefix = 'anomaly:';

/** The rule the watch evaluates for a scope: metric anomaly over the threshold, no actions. */
function watchRule(
  queue: string,
  type: string | undefined,
  state: RuleState,
  settings: typeof anomalyWatchDefaults,
): AlertRule {
  const scope = type ? `${queue}/${type}` : queue;
  return {
    ruleId: `${watchIdPrefix}${scope}`,
    name: `Anomaly on ${type ? `${type} in ` : ''}${queue}`,
    condition: {
      metric: 'anomaly',
      queue,
      ...(type ? { type } : {}),
      op: '>',
      threshold: settings.threshold,
      forMinutes: settings.forMinutes,
    },
    actions: [],
    enabled: true,
    createdAt: '',
    updatedAt: '',
    state,
  };
}

/**
 * The anomaly watch, one minute: for every queue, the queue as a whole and each type seen in
 * its last two hours (or with an open anomaly), the anomaly reading against its own history
 * (the last two hours and this hour of the day on the previous days: one query of minute
 * buckets and one per previous day of hour buckets per queue, whatever the types). An anomaly
 * over the threshold for forMinutes in a row opens an alert; the first usual minute resolves it.
 * A scope's state is written only when it changes (a quiet factory writes nothing).
 */
export async function detectAnomalies(
  ports: AlertPorts & AnomalyWatchPorts,
  now: Date,
  settings: typeof anomalyWatchDefaults = anomalyWatchDefaults,
): Promise<RuleOutcome[]> {
  const windowStart = windowStartOf(now);
  const states = await ports.watchStates();
  const outcomes: RuleOutcome[] = [];
  const setState: AlertPorts['setState'] = (ruleId, state, version) =>
    ports.setWatchState(ruleId.slice(watchIdPrefix.length), state, version);
  for (const queue of ports.queues()) {
    try {
      const [minuteBuckets, hourBuckets] = await Promise.all([
        ports.buckets(
          queue,
          new Date(windowStart.getTime() - anomalyHistoryMinutes * 60_000),
          new Date(now.getTime() + 1),
        ),
        ports.hourBuckets?.(queue, sameHourOnPreviousDays(now)) ?? [],
      ]);
      const open = [...states.entries()]
        .filter(([scope, state]) => scope.startsWith(`${queue}/`) && state.status === 'firing')
        .map(([scope]) => scope.slice(queue.length + 1));
      const types = [...new Set([...minuteBuckets.map((b) => b.type), ...open])].sort();
      for (const type of [undefined, ...types]) {
        const scope = type ? `${queue}/${type}` : queue;
        const ofType = <B extends StoredBucket>(list: readonly B[]) =>
          type ? list.filter((b) => b.type === type) : list;
        const reading = anomalyOf(ofType(minuteBuckets), ofType(hourBuckets), windowStart);
        const state = states.get(scope) ?? freshState(0);
        const rule = watchRule(queue, type, state, settings);
        let current = state;
        if (current.pendingNotice) {
          const told = await tell(rule, current, ports, now, undefined, { setState });
          if (!told) continue;
          current = told;
        }
        const evaluation = evaluateRule({ ...rule, state: current }, reading, now);
        // Only a change of state is written: a count of breaches towards firing, or a transition.
        const unchanged =
          !evaluation.transition &&
          evaluation.state.status === current.status &&
          (current.status === 'firing' || evaluation.state.breaches === current.breaches);
        if (unchanged) continue;
        if (!(await setState(rule.ruleId, evaluation.state, current.version))) continue;
        if (!evaluation.transition) continue;
        await tell(rule, evaluation.state, ports, now, reading, { setState });
        outcomes.push({
          ruleId: rule.ruleId,
          value: reading.value,
          status: evaluation.state.status,
          transition: evaluation.transition,
        });
      }
    } catch (error) {
      outcomes.push({ ruleId: `${watchIdPrefix}${queue}`, value: null, status: 'ok', error: String(error) });
    }
  }
  return outcomes;
}
