/** The jobs table's stream records as row changes (domain/job-changes.ts). */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { JobRowChange, JobRowImage } from '#domain/job-changes';

const image = (raw: Record<string, unknown> | undefined): JobRowImage | undefined =>
  raw ? (unmarshall(raw as Record<string, AttributeValue>) as JobRowImage) : undefined;

export function jobChangesOf(records: readonly DynamoDBRecord[]): JobRowChange[] {
  return records.map((record) => {
    const before = image(record.dynamodb?.OldImage);
    const after = image(record.dynamodb?.NewImage);
    const seconds = record.dynamodb?.ApproximateCreationDateTime;
    return {
      ...(before ? { before } : {}),
      ...(after ? { after } : {}),
      at: seconds === undefined ? new Date() : new Date(seconds * 1000),
    };
  });
}
