/**
 * Alert rules (pk `alert-rule`, sk ruleId), alerts (pk `alert`, sk alertId, which begins with
 * the time it fired) and the anomaly watch's states (pk `anomaly-watch`, sk the scope) in the
 * operations table. The alerts' inserts and their resolution are the `alert.fired` /
 * `alert.resolved` events (domain/factory-events.ts), whoever opened them.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Alert, AlertRule, Notice, RuleState } from '#domain/alerts';
import { envInt } from '#shared/env';
import { dynamo, isConditionFailure } from './aws-clients.ts';
import { queryPartition } from './operations-store.ts';

const strip = <T>({ pk: _pk, sk: _sk, expiresAt: _e, ...item }: Record<string, unknown>) => item as T;

export class AlertStore {
  /** @param retentionDays how long a resolved alert stays in GET /alerts (TTL) */
  constructor(
    private readonly tableName: string,
    private readonly retentionDays = envInt('OPERATIONS_RETENTION_DAYS', 90),
  ) {}

  private async query<T>(pk: string, limit: number, newestFirst: boolean): Promise<T[]> {
    return (await queryPartition(this.tableName, pk, limit, newestFirst)).map((item) => strip<T>(item));
  }

  // Rules
  async putRule(rule: AlertRule): Promise<void> {
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'alert-rule', sk: rule.ruleId, ...rule },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  rules(): Promise<AlertRule[]> {
    return this.query<AlertRule>('alert-rule', 1000, false);
  }

  async rule(ruleId: string): Promise<AlertRule | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: 'alert-rule', sk: ruleId },
        ConsistentRead: true,
      }),
    );
    return Item ? strip<AlertRule>(Item) : undefined;
  }

  /**
   * Replaces a rule as read (definition and state) if nobody wrote its state since: false when
   * the evaluator (or another change) got there first, so the caller reads again.
   */
  replaceRule(rule: AlertRule, expectedVersion: number): Promise<boolean> {
    return this.putIfVersion({ pk: 'alert-rule', sk: rule.ruleId, ...rule }, expectedVersion, false);
  }

  /**
   * Puts an item whose `state.version` is still `expectedVersion` (or, with `orNew`, that does not
   * exist yet); false when another writer got there first.
   */
  private async putIfVersion(
    item: Record<string, unknown>,
    expectedVersion: number,
    orNew: boolean,
  ): Promise<boolean> {
    try {
      await dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: `${orNew ? 'attribute_not_exists(pk) OR ' : ''}#state.#version = :v`,
          ExpressionAttributeNames: { '#state': 'state', '#version': 'version' },
          ExpressionAttributeValues: { ':v': expectedVersion },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** The evaluator's write: the state only, if still the version it evaluated. */
  async setState(ruleId: string, state: RuleState, expectedVersion: number): Promise<boolean> {
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'alert-rule', sk: ruleId },
          UpdateExpression: 'SET #state = :state',
          ConditionExpression: '#state.#version = :v',
          ExpressionAttributeNames: { '#state': 'state', '#version': 'version' },
          ExpressionAttributeValues: { ':state': state, ':v': expectedVersion },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async deleteRule(ruleId: string): Promise<AlertRule | undefined> {
    const { Attributes } = await dynamo().send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: 'alert-rule', sk: ruleId },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes ? strip<AlertRule>(Attributes) : undefined;
  }

  // The anomaly watch (domain/alert-evaluation.ts detectAnomalies)
  async watchStates(): Promise<Map<string, RuleState>> {
    const rows = await queryPartition(this.tableName, 'anomaly-watch', 5000, false);
    return new Map(rows.map((row) => [String(row.sk), row.state as RuleState]));
  }

  /** A scope's state, if its version is still the one read (0: the scope has no row yet). */
  setWatchState(scope: string, state: RuleState, expectedVersion: number): Promise<boolean> {
    return this.putIfVersion(
      { pk: 'anomaly-watch', sk: scope, state },
      expectedVersion,
      expectedVersion === 0,
    );
  }

  // Alerts
  /** Opens an alert; a second open of the same alert (a redelivered notice) changes nothing. */
  async openAlert(alert: Alert): Promise<void> {
    try {
      await dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: 'alert', sk: alert.alertId, ...alert },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async alert(alertId: string): Promise<Alert | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({ TableName: this.tableName, Key: { pk: 'alert', sk: alertId }, ConsistentRead: true }),
    );
    return Item ? strip<Alert>(Item) : undefined;
  }

  /** Resolves a firing alert (once: a resolved one stays as it was); it expires after the retention. */
  async resolveAlert(
    alertId: string,
    at: string,
    value: number | null,
    because?: string,
  ): Promise<Alert | undefined> {
    try {
      const { Attributes } = await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'alert', sk: alertId },
          UpdateExpression: `SET #status = :resolved, resolvedAt = :at, resolvedValue = :value, expiresAt = :expires${because ? ', resolvedBecause = :because' : ''}`,
          ConditionExpression: '#status = :firing',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':resolved': 'resolved',
            ':firing': 'firing',
            ':at': at,
            ':value': value,
            ':expires': Math.floor(Date.parse(at) / 1000) + this.retentionDays * 86_400,
            ...(because ? { ':because': because } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? strip<Alert>(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return this.alert(alertId);
      throw error;
    }
  }

  async addNotices(alertId: string, notices: readonly Notice[]): Promise<void> {
    if (notices.length === 0) return;
    await dynamo().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: 'alert', sk: alertId },
        UpdateExpression: 'SET notices = list_append(if_not_exists(notices, :none), :notices)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':none': [], ':notices': notices },
      }),
    );
  }

  /** Newest first. */
  alerts(limit: number): Promise<Alert[]> {
    return this.query<Alert>('alert', limit, true);
  }
}
