/**
 * The factory's trained models (domain/failure-prediction.ts), one item each in the metrics
 * table: pk `model`, sk its name, the model as a JSON string (a few KB to a few tens of KB). The
 * trainer writes it every hour; readers keep a model they found for a minute.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  type FailureModel,
  failureRateOf,
  type Prediction,
  type PredictionInput,
  predictWith,
} from '#domain/failure-prediction';
import { dynamo } from './aws-clients.ts';
import type { MetricsStore } from './metrics-store.ts';

const cacheMs = 60_000;

export class ModelStore {
  private cached?: { until: number; model: FailureModel };

  constructor(
    private readonly tableName: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async save(model: FailureModel): Promise<void> {
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'model', sk: model.name, trainedAt: model.trainedAt, model: JSON.stringify(model) },
      }),
    );
    this.cached = { until: this.clock() + cacheMs, model };
  }

  /** The failure model, if one has been trained. */
  async failureModel(): Promise<FailureModel | undefined> {
    const now = this.clock();
    if (this.cached && this.cached.until > now) return this.cached.model;
    const { Item } = await dynamo().send(
      new GetCommand({ TableName: this.tableName, Key: { pk: 'model', sk: 'failure-prediction' } }),
    );
    const model = Item?.model ? (JSON.parse(String(Item.model)) as FailureModel) : undefined;
    // Absence is not kept: the first model trained must be served at once, not a minute later.
    if (model) this.cached = { until: now + cacheMs, model };
    return model;
  }
}

/** Predictions for jobs about to be submitted: the stored model and the type's last hour. */
export class JobPredictor {
  constructor(
    private readonly models: ModelStore,
    private readonly metrics: MetricsStore,
  ) {}

  /** undefined when no model has been trained yet. */
  async predict(
    job: Omit<PredictionInput, 'at' | 'recentFailureRate'>,
    now: Date,
  ): Promise<Prediction | undefined> {
    const [model, lastHour] = await Promise.all([
      this.models.failureModel(),
      this.metrics.buckets('minute', job.queue, new Date(now.getTime() - 3_600_000), now, job.type),
    ]);
    if (!model) return undefined;
    const rate = failureRateOf(lastHour, job.type);
    return predictWith(model, {
      ...job,
      at: now.toISOString(),
      ...(rate === null ? {} : { recentFailureRate: rate }),
    });
  }
}

/** Why there is no prediction yet, for the API's answer. */
export const noModelYet =
  'No failure model has been trained yet: the model trainer fits one every hour once the last week holds at least 20 finished jobs';
