/**
 * EventBridge for the local cloud, as the template declares it (both backends: moto's EventBridge
 * cannot invoke the local Lambdas): custom buses (`AWS::Events::EventBus`), `PutEvents` on them,
 * rules with an `EventPattern` on a bus and Lambda targets (invoked asynchronously with the
 * event, as EventBridge does), and archives (`AWS::Events::Archive`: matching events appended
 * to a journal under the data directory, 50 MB and one older generation at most, instead of
 * the declared retention in days).
 * Schedule rules (`ScheduleExpression`) are schedules.ts's.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { BufferedRequest, ServiceResponse } from './edge.ts';
import { type EventPattern, matchesPattern, UnsupportedPattern } from './event-patterns.ts';
import { LineFile } from './journal.ts';
import type { InvocationResult } from './lambda-runtime.ts';

export interface LocalEventBus {
  readonly name: string;
  readonly arn: string;
}
export interface LocalEventRule {
  readonly name: string;
  readonly busName: string;
  readonly pattern: EventPattern;
  readonly functionNames: readonly string[];
}
export interface LocalArchive {
  readonly name: string;
  readonly busName: string;
  readonly pattern?: EventPattern;
  readonly retentionDays?: number;
}

/** The envelope EventBridge delivers to targets. */
export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, unknown>;
}

interface PutEventsEntry {
  readonly EventBusName?: string;
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Time?: number | string;
  readonly Resources?: string[];
}

/** A bus's name from its name or ARN, as EventBusName, SourceArn and rules give it. */
export const busNameOf = (nameOrArn: unknown): string =>
  String(nameOrArn ?? 'default')
    .split(':event-bus/')
    .pop() || 'default';

/** An archive's journal on disk, at most (then one older generation). */
const maxArchiveBytes = 50 * 2 ** 20;

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

const reply = (status: number, body: unknown): ServiceResponse => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.1' },
  body: JSON.stringify(body),
});
const failure = (status: number, type: string, message: string) => reply(status, { __type: type, message });

export class LocalEventBuses {
  private readonly buses = new Map<string, LocalEventBus>();
  private readonly warned = new Set<string>();
  /** Events appended to each archive since the start (for tests and the admin view). */
  readonly archived = new Map<string, number>();
  private readonly journalBytes = new Map<string, number>();
  /** Each archive's file, kept open between events (an open-write-close per event was 1 % of a drain's main thread). */
  private readonly archiveFiles = new Map<string, LineFile>();

  constructor(
    private readonly identity: { region: string; accountId: string },
    buses: readonly LocalEventBus[],
    private readonly rules: readonly LocalEventRule[],
    private readonly archives: readonly LocalArchive[],
    private readonly invoke: (functionName: string, event: BusEvent) => Promise<InvocationResult>,
    private readonly archiveDir: string | undefined,
    private readonly log: (line: string) => void,
  ) {
    // Every account has a default bus.
    this.buses.set('default', { name: 'default', arn: this.arnOf('default') });
    for (const bus of buses) this.buses.set(bus.name, bus);
    if (archiveDir) mkdirSync(archiveDir, { recursive: true });
  }

  private arnOf(name: string) {
    return `arn:aws:events:${this.identity.region}:${this.identity.accountId}:event-bus/${name}`;
  }

  /** The bus an entry names (by name or ARN; the default bus when it names none). */
  busOf(nameOrArn: string | undefined): LocalEventBus | undefined {
    return this.buses.get(busNameOf(nameOrArn));
  }

  readonly handle = async (request: BufferedRequest): Promise<ServiceResponse> => {
    const action = String(request.headers['x-amz-target'] ?? '').split('.')[1];
    if (action !== 'PutEvents')
      return failure(
        400,
        'UnknownOperationException',
        `The local EventBridge serves PutEvents, not ${action}`,
      );
    let entries: PutEventsEntry[];
    try {
      entries = (JSON.parse(request.body.toString() || '{}') as { Entries?: PutEventsEntry[] }).Entries ?? [];
    } catch {
      return failure(400, 'SerializationException', 'The request body is not valid JSON');
    }
    if (entries.length < 1 || entries.length > 10)
      return failure(400, 'ValidationException', `1 to 10 entries per PutEvents call, not ${entries.length}`);
    if (Buffer.byteLength(request.body) > 256 * 1024)
      return failure(
        400,
        'ValidationException',
        'Total size of the entries in the request is over the limit (256 KB)',
      );
    const results = entries.map((entry) => this.put(entry));
    return reply(200, {
      FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
      Entries: results,
    });
  };

  private put(entry: PutEventsEntry): EntryResult {
    const bus = this.busOf(entry.EventBusName);
    if (!bus)
      return {
        ErrorCode: 'ResourceNotFoundException',
        ErrorMessage: `Event bus ${entry.EventBusName} does not exist.`,
      };
    if (!entry.Source || !entry.DetailType || entry.Detail === undefined)
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameters Source, DetailType and Detail are required.',
      };
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      detail = undefined;
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    const time = entry.Time === undefined ? new Date() : new Date(Number(entry.Time) * 1000);
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: this.identity.accountId,
      time: (Number.isNaN(time.getTime()) ? new Date() : time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.identity.region,
      resources: entry.Resources ?? [],
      detail: detail as Record<string, unknown>,
    };
    for (const archive of this.archives)
      if (
        archive.busName === bus.name &&
        this.matches(`archive ${archive.name}`, archive.pattern ?? {}, event)
      )
        this.append(archive, event);
    for (const rule of this.rules) {
      if (rule.busName !== bus.name || !this.matches(`rule ${rule.name}`, rule.pattern, event)) continue;
      for (const fn of rule.functionNames)
        void this.invoke(fn, event).then((outcome) => {
          if (!outcome.ok) this.log(`[events] ${rule.name} → ${fn} failed: ${outcome.error.errorMessage}`);
        });
    }
    return { EventId: event.id };
  }

  private matches(what: string, pattern: EventPattern, event: BusEvent): boolean {
    try {
      return matchesPattern(pattern, event as never);
    } catch (error) {
      if (!(error instanceof UnsupportedPattern)) throw error;
      if (!this.warned.has(what)) {
        this.warned.add(what);
        this.log(`[events] ${what}: ${error.message}; it matches nothing locally`);
      }
      return false;
    }
  }

  private append(archive: LocalArchive, event: BusEvent): void {
    this.archived.set(archive.name, (this.archived.get(archive.name) ?? 0) + 1);
    if (!this.archiveDir) return;
    const file = path.join(this.archiveDir, `${archive.name}.jsonl`);
    const line = `${JSON.stringify(event)}\n`;
    // Bounded on disk: past the cap the journal moves aside (one older generation is kept).
    const size = (this.journalBytes.get(file) ?? (existsSync(file) ? statSync(file).size : 0)) + line.length;
    const out = this.archiveFiles.get(file) ?? new LineFile(file);
    this.archiveFiles.set(file, out);
    if (size > maxArchiveBytes) {
      out.close();
      renameSync(file, file.replace(/\.jsonl$/, '.1.jsonl'));
      this.journalBytes.set(file, line.length);
    } else this.journalBytes.set(file, size);
    const { error } = out.append(line);
    if (error !== undefined) throw error;
  }
}
