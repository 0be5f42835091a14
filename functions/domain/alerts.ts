/**
 * Alert rules: a condition on one of a queue's readings (failure rate, p95 run time, backlog,
 * throughput, or how anomalous they are against the queue's own history), held for a number of
 * one-minute evaluations, and what to tell when it fires and when it recovers.
 *
 * Each rule is a small state machine, evaluated every minute (scheduled/alert-evaluator.ts):
 * ok → (breaching) → firing after `forMinutes` breaching evaluations in a row → ok again at the
 * first evaluation that does not breach. A rule that fires and recovers therefore makes one
 * `fired` and one `resolved` notice, not one per minute. A transition is claimed with a
 * conditional write on the rule's state version (two evaluators never both fire it), and its
 * notice stays pending on the rule until delivered, so a crash in between redelivers it on the
 * next evaluation (at-least-once, like everything else in the factory).
 */
import * as z from 'zod';
import { type Histogram, merge, percentile } from './histogram.ts';
import type { StoredBucket } from './throughput.ts';

export const alertMetrics = ['failure_rate', 'p95_run_ms', 'backlog', 'throughput', 'anomaly'] as const;
export type AlertMetric = (typeof alertMetrics)[number];

/** Readings over the trailing minutes, this minute included (so a burst is seen as it happens). */
export const readingWindowMinutes = 5;

const conditionSchema = z
  .object({
    metric: z.enum(alertMetrics),
    queue: z.string().min(1).max(100).optional(),
    type: z.string().min(1).max(100).optional(),
    op: z.enum(['>', '<']),
    threshold: z.number().finite(),
    /** Consecutive one-minute evaluations the condition must hold before the rule fires. */
    forMinutes: z.int().min(1).max(1440).default(1),
  })
  .strict();

const actionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('webhook'), url: z.url({ protocol: /^https?$/ }) }).strict(),
  z.object({ type: z.literal('email'), to: z.email() }).strict(),
  z.object({ type: z.literal('sns'), topicArn: z.string().regex(/^arn:aws[\w-]*:sns:/) }).strict(),
]);

export const alertRuleRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    condition: conditionSchema,
    actions: z.array(actionSchema).max(5).default([]),
    enabled: z.boolean().default(true),
  })
  .strict();

export const alertRulePatchSchema = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    condition: conditionSchema.optional(),
    actions: z.array(actionSchema).max(5).optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, { message: 'Nothing to change' });

export type AlertCondition = z.infer<typeof conditionSchema>;
export type AlertAction = z.infer<typeof actionSchema>;
export type AlertRuleRequest = z.infer<typeof alertRuleRequestSchema>;

export interface RuleState {
  readonly status: 'ok' | 'firing';
  /** Breaching evaluations in a row (the rule fires when it reaches forMinutes). */
  readonly breaches: number;
  /** Bumped by every write of the state: the evaluator's writes are conditional on it. */
  readonly version: number;
  readonly alertId?: string;
  readonly lastValue?: number | null;
  readonly lastEvaluatedAt?: string;
  /** A transition claimed but not yet told (delivered on the next evaluation if this one died). */
  readonly pendingNotice?: 'fired' | 'resolved';
}

export interface AlertRule extends AlertRuleRequest {
  readonly ruleId: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly state: RuleState;
}

export const freshState = (version: number): RuleState => ({ status: 'ok', breaches: 0, version });

/** The range a reading was expected in (anomalies), for the notice. */
export interface ExpectedRange {
  readonly low: number;
  readonly high: number;
}

export interface Reading {
  /** null: nothing to judge (no attempts in the window, no history yet): never breaching. */
  readonly value: number | null;
  readonly expected?: ExpectedRange;
  /** Which reading was furthest from its history (anomaly). */
  readonly detail?: string;
}

export const breaches = (condition: AlertCondition, value: number | null): boolean =>
  value !== null && (condition.op === '>' ? value > condition.threshold : value < condition.threshold);

export interface Evaluation {
  readonly state: RuleState;
  readonly transition?: 'fired' | 'resolved';
}

/**
 * The rule's next state from this evaluation's reading. Disabled rules that were firing resolve
 * (nobody wants an alert left open by a rule switched off); `alertIdFor` names the alert a fire
 * opens, from the state version, so a retried claim opens the same alert.
 */
export function evaluateRule(rule: AlertRule, reading: Reading, now: Date): Evaluation {
  const { state } = rule;
  const breaching = rule.enabled && breaches(rule.condition, reading.value);
  const base = {
    version: state.version + 1,
    lastValue: reading.value,
    lastEvaluatedAt: now.toISOString(),
  };
  if (state.status === 'firing') {
    if (breaching) return { state: { ...state, ...base, breaches: state.breaches + 1 } };
    return {
      state: { ...base, status: 'ok', breaches: 0, alertId: state.alertId, pendingNotice: 'resolved' },
      transition: 'resolved',
    };
  }
  const count = breaching ? state.breaches + 1 : 0;
  if (count >= rule.condition.forMinutes)
    return {
      state: {
        ...base,
        status: 'firing',
        breaches: count,
        alertId: alertIdFor(rule.ruleId, now, state.version),
        pendingNotice: 'fired',
      },
      transition: 'fired',
    };
  return { state: { ...base, status: 'ok', breaches: count } };
}

/** Sorted by time in the alerts partition; unique per rule and claim. */
export const alertIdFor = (ruleId: string, at: Date, version: number): string =>
  `${at.toISOString()}#${ruleId}#${version}`;

/** One alert: from the minute a rule fired to the minute it recovered. */
export interface Alert {
  readonly alertId: string;
  readonly ruleId: string;
  readonly name: string;
  readonly condition: AlertCondition;
  readonly status: 'firing' | 'resolved';
  readonly firedAt: string;
  readonly value: number | null;
  readonly expected?: ExpectedRange;
  readonly detail?: string;
  readonly resolvedAt?: string;
  readonly resolvedValue?: number | null;
  /** Why it resolved when the data did not say so (the rule was changed, disabled or deleted). */
  readonly resolvedBecause?: string;
  readonly notices?: readonly Notice[];
  /** `anomaly-detector`: opened by the factory's own anomaly watch, without a rule. @default a rule */
  readonly source?: 'rule' | 'anomaly-detector';
}

/** What was told to whom: one per action and transition. */
export interface Notice {
  readonly transition: 'fired' | 'resolved';
  readonly action: AlertAction['type'];
  readonly to: string;
  readonly at: string;
  readonly delivered: boolean;
  readonly status?: number;
  readonly error?: string;
  /** An e-mail notice's row in the outbox (GET /outbox lists it). */
  readonly mailId?: string;
  /** An SNS notice's message id, as SNS gave it. */
  readonly messageId?: string;
}

/** The readings of one queue (and type) over the trailing window, from its minute buckets. */
export function windowReading(
  metric: Exclude<AlertMetric, 'backlog' | 'anomaly'>,
  buckets: readonly StoredBucket[],
  minutes = readingWindowMinutes,
): Reading {
  let completed = 0;
  let failed = 0;
  const run: Histogram = {};
  for (const { counters } of buckets) {
    completed += counters.completed ?? 0;
    failed += counters.failed ?? 0;
    for (const [key, count] of Object.entries(counters))
      if (/^r\d+$/.test(key)) merge(run, { [Number(key.slice(1))]: count });
  }
  switch (metric) {
    case 'failure_rate':
      // Of the attempts that ended in the window, the share that failed (retried or dead).
      return { value: completed + failed ? round(failed / (completed + failed), 4) : null };
    case 'p95_run_ms':
      return { value: percentile(run, 95) };
    case 'throughput':
      // Jobs completed per minute; an idle queue reads 0 (so "< threshold" can catch a stall).
      return { value: round(completed / minutes, 3) };
  }
}

/** Per-minute readings of a queue, oldest first (the anomaly detector's history). */
export interface MinuteReadings {
  readonly minute: string;
  readonly failureRate: number | null;
  readonly p95RunMs: number | null;
  readonly throughput: number;
}

export function minuteReadings(buckets: readonly StoredBucket[]): MinuteReadings[] {
  const byMinute = new Map<string, StoredBucket[]>();
  for (const bucket of buckets) {
    const minute = bucket.bucket.slice(0, 16);
    byMinute.set(minute, [...(byMinute.get(minute) ?? []), bucket]);
  }
  return [...byMinute.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([minute, group]) => ({
      minute,
      failureRate: windowReading('failure_rate', group, 1).value,
      p95RunMs: windowReading('p95_run_ms', group, 1).value,
      throughput: windowReading('throughput', group, 1).value ?? 0,
    }));
}

/** Fewer minutes of history than this and the last two hours are no baseline. */
export const anomalyMinHistory = 30;
const ewmaAlpha = 0.1;
/** Below these a spread is not believed: a flat history does not make every wobble an anomaly. */
const spreadFloors = { failureRate: 0.02, p95RunMs: 5, throughput: 0.5 } as const;
type ReadingKey = keyof typeof spreadFloors;
const readingKeys = Object.keys(spreadFloors) as ReadingKey[];

/** Where a reading is expected: a mean and a spread (≈ one standard deviation). */
export interface Baseline {
  readonly mean: number;
  readonly sigma: number;
  /** Days of the same hour it was made of (hour-of-day baselines). */
  readonly days?: number;
}

/** The same hour of the day on previous days: a baseline per reading that has one. */
export type HourOfDayBaseline = Partial<Record<ReadingKey, Baseline>>;

/** Days of the same hour a baseline needs before it is believed. */
export const hourOfDayMinDays = 3;
/** How many previous days make the hour-of-day baseline. */
export const hourOfDayDays = 7;

/**
 * The baseline of the hour of day from the hour buckets of that hour on previous days (any
 * types and shards): one reading per day that has a bucket — failure rate, p95 run time and
 * jobs completed per minute of the hour — then their mean, and 1.25 × their mean absolute
 * deviation as the spread (≈ one standard deviation, robust to one odd day).
 */
export function hourOfDayBaseline(hourBuckets: readonly StoredBucket[]): HourOfDayBaseline {
  const byDay = new Map<string, StoredBucket[]>();
  for (const b of hourBuckets) byDay.set(b.bucket, [...(byDay.get(b.bucket) ?? []), b]);
  const days = [...byDay.values()].map((group) => ({
    failureRate: windowReading('failure_rate', group, 60).value,
    p95RunMs: windowReading('p95_run_ms', group, 60).value,
    throughput: windowReading('throughput', group, 60).value,
  }));
  const baseline: HourOfDayBaseline = {};
  for (const key of readingKeys) {
    const values = days.map((d) => d[key]).filter((v): v is number => v !== null);
    if (values.length < hourOfDayMinDays) continue;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const deviation = values.reduce((a, v) => a + Math.abs(v - mean), 0) / values.length;
    baseline[key] = { mean, sigma: Math.max(1.25 * deviation, spreadFloors[key]), days: values.length };
  }
  return baseline;
}

/** The EWMA baseline of a reading over the minutes of history (undefined without a value). */
function recentBaseline(history: readonly MinuteReadings[], key: ReadingKey): Baseline | undefined {
  let mean: number | undefined;
  let spread = 0;
  for (const minute of history) {
    const x = minute[key];
    if (x === null) continue;
    if (mean === undefined) {
      mean = x;
      continue;
    }
    spread = ewmaAlpha * Math.abs(x - mean) + (1 - ewmaAlpha) * spread;
    mean = ewmaAlpha * x + (1 - ewmaAlpha) * mean;
  }
  // 1.25 × mean absolute deviation ≈ one standard deviation of a normal distribution.
  return mean === undefined ? undefined : { mean, sigma: Math.max(1.25 * spread, spreadFloors[key]) };
}

/**
 * How far this window's readings are from the queue's own history, in spreads (z). Two
 * baselines: the last two hours — an EWMA of the past minutes with an EWMA of the absolute
 * deviation as a robust spread (a spike moves it by alpha × its size, not by its square as a
 * variance would) — and, when given, the same hour of the day on previous days. A reading is
 * as anomalous as it is against the baseline it fits best: a queue busy every night at 2 is
 * unusual against its quiet evening but not against its other nights, so it is not an anomaly.
 * The largest score of the readings is the anomaly reading, with its expected range (baseline
 * ± 3 spreads) and which baseline that was.
 */
export function anomalyReading(
  history: readonly MinuteReadings[],
  current: { failureRate: number | null; p95RunMs: number | null; throughput: number },
  hourOfDay: HourOfDayBaseline = {},
): Reading {
  const recentKnown = history.length >= anomalyMinHistory;
  let worst: Reading = { value: null };
  for (const key of readingKeys) {
    const now = current[key];
    if (now === null) continue;
    const candidates = [
      ...(recentKnown ? [{ baseline: recentBaseline(history, key), what: 'the last two hours' }] : []),
      {
        baseline: hourOfDay[key],
        what: `this hour on the last ${hourOfDay[key]?.days ?? 0} days`,
      },
    ].flatMap(({ baseline, what }) =>
      baseline ? [{ baseline, what, score: round(Math.abs(now - baseline.mean) / baseline.sigma, 2) }] : [],
    );
    const best = candidates.sort((a, b) => a.score - b.score)[0];
    if (!best) continue;
    if (worst.value === null || best.score > worst.value) {
      const { mean, sigma } = best.baseline;
      worst = {
        value: best.score,
        expected: { low: round(Math.max(0, mean - 3 * sigma), 3), high: round(mean + 3 * sigma, 3) },
        detail: `${key} ${round(now, 3)} against ${round(mean, 3)} ± ${round(sigma, 3)} (${best.what})`,
      };
    }
  }
  return worst;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** The body an alert's webhook receives, and the text of its other notices. */
export function noticeBody(alert: Alert, transition: 'fired' | 'resolved') {
  const { condition } = alert;
  const where = [condition.queue && `queue ${condition.queue}`, condition.type && `type ${condition.type}`]
    .filter(Boolean)
    .join(', ');
  const value = transition === 'fired' ? alert.value : alert.resolvedValue;
  return {
    type: transition === 'fired' ? 'alert.fired' : 'alert.resolved',
    alertId: alert.alertId,
    ruleId: alert.ruleId,
    name: alert.name,
    condition,
    value: value ?? null,
    expected: alert.expected,
    firedAt: alert.firedAt,
    resolvedAt: alert.resolvedAt,
    summary:
      `${alert.name}: ${condition.metric} ${value ?? 'n/a'} ${condition.op} ${condition.threshold}` +
      `${where ? ` (${where})` : ''} ${transition === 'fired' ? 'fired' : 'resolved'}`,
  };
}

/**
 * An e-mail notice as the outbox keeps it: the same outbox send_email delivers to (GET /outbox).
 * Its id names the alert, the transition and the recipient, so a notice told again (an
 * evaluator that died before recording it) overwrites its own mail instead of sending another.
 */
export interface AlertMail {
  readonly mailId: string;
  readonly alertId: string;
  readonly ruleId: string;
  readonly transition: 'fired' | 'resolved';
  readonly to: string;
  readonly cc: readonly string[];
  readonly subject: string;
  readonly body: string;
  readonly sentAt: string;
}

/** The mail an email action sends for a notice (noticeBody): a subject and plain text. */
export function alertMail(notice: ReturnType<typeof noticeBody>, to: string, at: Date): AlertMail {
  const transition = notice.type === 'alert.fired' ? 'fired' : 'resolved';
  const { condition } = notice;
  const scope = [
    condition.queue ? `queue ${condition.queue}` : 'every queue (the worst)',
    condition.type && `type ${condition.type}`,
  ]
    .filter(Boolean)
    .join(', ');
  const lines = [
    notice.summary,
    '',
    `Condition:   ${condition.metric} ${condition.op} ${condition.threshold} on ${scope}, for ${condition.forMinutes} minute${condition.forMinutes === 1 ? '' : 's'}`,
    `Value:       ${notice.value ?? 'n/a'}`,
    ...(notice.expected ? [`Expected:    ${notice.expected.low} to ${notice.expected.high}`] : []),
    `Fired at:    ${notice.firedAt}`,
    ...(notice.resolvedAt ? [`Resolved at: ${notice.resolvedAt}`] : []),
    `Alert:       ${notice.alertId}`,
    `Rule:        ${notice.ruleId} (GET /alerts/rules/${notice.ruleId}; its history: GET /alerts?ruleId=${notice.ruleId})`,
  ];
  return {
    mailId: `alert#${notice.alertId}#${transition}#${to}`,
    alertId: notice.alertId,
    ruleId: notice.ruleId,
    transition,
    to,
    cc: [],
    subject: `[Robot Factory] Alert ${transition}: ${notice.name}`,
    body: `${lines.join('\n')}\n`,
    sentAt: at.toISOString(),
  };
}

/** An SNS notice: one message on the rule's topic. */
export interface AlertTopicMessage {
  readonly topicArn: string;
  readonly subject: string;
  /** The same JSON a webhook receives. */
  readonly message: string;
  /** For subscription filter policies: the notice's type, rule and queue. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** The message an sns action publishes for a notice (SNS subjects: ≤ 100 printable ASCII characters). */
export function alertTopicMessage(
  notice: ReturnType<typeof noticeBody>,
  topicArn: string,
): AlertTopicMessage {
  const subject = `Alert ${notice.type === 'alert.fired' ? 'fired' : 'resolved'}: ${notice.name}`
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 100);
  return {
    topicArn,
    subject,
    message: JSON.stringify(notice),
    attributes: {
      type: notice.type,
      ruleId: notice.ruleId,
      ...(notice.condition.queue ? { queue: notice.condition.queue } : {}),
    },
  };
}
