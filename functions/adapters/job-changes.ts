/** Tables' stream records as row changes (domain/job-changes.ts, domain/factory-events.ts). */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { RowChange } from '#domain/factory-events';
import type { JobRowChange, JobRowImage } from '#domain/job-changes';

const image = <T>(raw: Record<string, unknown> | undefined): T | undefined =>
  raw ? (unmarshall(raw as Record<string, AttributeValue>) as T) : undefined;

/** One record's change, with the record's identity (stable when Lambda delivers it again). */
export function rowChangeOf<T>(record: DynamoDBRecord): RowChange<T> {
  const before = image<T>(record.dynamodb?.OldImage);
  const after = image<T>(record.dynamodb?.NewImage);
  const seconds = record.dynamodb?.ApproximateCreationDateTime;
  return {
    recordId: record.eventID ?? record.dynamodb?.SequenceNumber ?? '',
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
    at: seconds === undefined ? new Date() : new Date(seconds * 1000),
  };
}

export function jobChangesOf(records: readonly DynamoDBRecord[]): JobRowChange[] {
  return records.map((record) => {
    const { recordId: _id, ...change } = rowChangeOf<JobRowImage>(record);
    return change;
  });
}

/** The table a stream record comes from: `arn:…:table/<name>/stream/<label>`. */
export const tableOfRecord = (record: DynamoDBRecord): string | undefined =>
  record.eventSourceARN?.split(':table/')[1]?.split('/stream/')[0];
