/** EventBridge schedule rules (rate expressions) that target Lambda functions. */
import { randomUUID } from 'node:crypto';
import type { LambdaRuntime } from './lambda-runtime.ts';

export interface LocalSchedule {
  readonly ruleName: string;
  readonly expression: string;
  readonly functionName: string;
}

const units: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

export function rateMs(expression: string): number | undefined {
  const match = expression.match(/^rate\((\d+) (minutes?|hours?|days?)\)$/);
  if (!match) return undefined;
  return Number(match[1]) * (units[match[2] as string] as number);
}

export class Schedules {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly disabled = new Set<string>();

  constructor(
    private readonly runtime: LambdaRuntime,
    private readonly identity: { region: string; accountId: string },
    private readonly log: (line: string) => void,
  ) {}

  start(schedule: LocalSchedule): void {
    this.known.add(schedule.ruleName);
    const every = rateMs(schedule.expression);
    if (every === undefined) {
      this.log(
        `[schedules] ${schedule.ruleName}: "${schedule.expression}" is not a rate() expression; not scheduled locally`,
      );
      return;
    }
    const timer = setInterval(() => {
      if (!this.disabled.has(schedule.ruleName)) void this.fire(schedule);
    }, every);
    timer.unref();
    this.timers.push(timer);
  }

  /** Delivers one scheduled event now, as EventBridge would at the next tick. */
  async fire(schedule: LocalSchedule) {
    const outcome = await this.runtime.invoke(schedule.functionName, {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.identity.accountId,
      time: new Date().toISOString(),
      region: this.identity.region,
      resources: [
        `arn:aws:events:${this.identity.region}:${this.identity.accountId}:rule/${schedule.ruleName}`,
      ],
      detail: {},
    });
    if (!outcome.ok) this.log(`[schedules] ${schedule.ruleName} failed: ${outcome.error.errorMessage}`);
    return outcome;
  }

  /** Like DisableRule: the rule stays, its timer stops firing (names matching the pattern). */
  disable(pattern: RegExp): string[] {
    const names = this.names.filter((name) => pattern.test(name));
    for (const name of names) this.disabled.add(name);
    return names;
  }

  private get names(): string[] {
    return [...this.known];
  }

  private readonly known = new Set<string>();

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }
}
