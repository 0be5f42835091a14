/**
 * One page of a listing over an index whose partitions are walked one after another (newest
 * first within each): job listings over queue#state partitions, order listings over states or
 * a customer. The cursor remembers the partition and where in it the page ended. Filters apply
 * after DynamoDB's Limit, so a filtered page reads more and may end early (with a cursor) once
 * it has read enough, rather than run past the Lambda timeout.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './aws-clients.ts';

export class InvalidCursor extends Error {
  override readonly name = 'InvalidCursor';
}

/** Index pages one listing request may read before it answers with what it has and a cursor. */
const maxReadsPerPage = 25;

interface Cursor {
  readonly p: number;
  readonly k?: Record<string, unknown>;
}

const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor)).toString('base64url');
function decodeCursor(raw: string | undefined, partitions: number): Cursor {
  if (!raw) return { p: 0 };
  try {
    const cursor = JSON.parse(Buffer.from(raw, 'base64url').toString()) as Cursor;
    if (!Number.isInteger(cursor.p) || cursor.p < 0 || cursor.p >= partitions) throw new Error('partition');
    if (cursor.k !== undefined && (typeof cursor.k !== 'object' || cursor.k === null)) throw new Error('key');
    return cursor;
  } catch {
    throw new InvalidCursor('The cursor is not one this listing handed out');
  }
}

/**
 * A partition of another index than the listing's, whose projection lacks what the listing
 * shows: its items are read in index order and `rowsOf` fetches and filters their rows.
 */
export interface RowsPartition<T> {
  readonly indexName: string;
  readonly partitionAttribute: string;
  readonly key: string;
  /** The table's key and this index's key: where a page that ends mid-query resumes. */
  readonly keyAttributes: readonly string[];
  /** Oldest (lowest sort key) first, where the listing's own partitions are newest first. */
  readonly forward?: boolean;
  /** Index items a read asks for; by default what the page still wants. */
  readonly pageSize?: number;
  /** The rows of these index items that the listing shows, each with the item it came from. */
  readonly rowsOf: (
    items: readonly Record<string, unknown>[],
  ) => Promise<{ readonly item: Record<string, unknown>; readonly row: T }[]>;
}

export interface PartitionListing<T = Record<string, unknown>> {
  readonly tableName: string;
  readonly indexName: string;
  readonly partitionAttribute: string;
  readonly partitions: readonly (string | RowsPartition<T>)[];
  /** The attributes of an item's position in the index: the table's key and the index's key. */
  readonly keyAttributes: readonly string[];
  /** ANDed conditions on attributes written #name, with their :values. */
  readonly filters?: readonly string[];
  readonly values?: Record<string, unknown>;
  readonly limit: number;
  readonly cursor?: string;
}

export async function listPartitions<T extends Record<string, unknown>>(
  listing: PartitionListing<T>,
): Promise<{ items: T[]; nextCursor: string | null }> {
  const { partitions, filters = [], limit } = listing;
  let cursor = decodeCursor(listing.cursor, partitions.length);
  const items: T[] = [];
  const names: Record<string, string> = { '#partition': listing.partitionAttribute };
  for (const match of filters.join(' ').matchAll(/#([A-Za-z_][A-Za-z0-9_]*)/g))
    names[`#${match[1]}`] = match[1] as string;
  const pageSize = filters.length ? Math.max(100, limit) : limit;
  let reads = 0;
  /** Reads of the current partition so far in this request. */
  let readsHere = 0;
  let here = cursor.p;
  while (items.length < limit && reads < maxReadsPerPage) {
    const partition = partitions[cursor.p];
    if (partition === undefined) return { items, nextCursor: null };
    reads++;
    readsHere = here === cursor.p ? readsHere + 1 : 1;
    here = cursor.p;
    const own = typeof partition === 'string';
    const resumeAt = cursor.k;
    const page = await dynamo()
      .send(
        new QueryCommand(
          own
            ? {
                TableName: listing.tableName,
                IndexName: listing.indexName,
                KeyConditionExpression: '#partition = :partition',
                ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: { ':partition': partition, ...listing.values },
                ScanIndexForward: false,
                Limit: filters.length ? pageSize : limit - items.length,
                ExclusiveStartKey: cursor.k,
              }
            : {
                TableName: listing.tableName,
                IndexName: partition.indexName,
                KeyConditionExpression: '#partition = :partition',
                ExpressionAttributeNames: { '#partition': partition.partitionAttribute },
                ExpressionAttributeValues: { ':partition': partition.key },
                ScanIndexForward: partition.forward ?? false,
                // What the page still wants; more once a read came back short (entries of other
                // states between the ones it shows).
                Limit: Math.max(partition.pageSize ?? 0, limit - items.length, readsHere > 1 ? 100 : 0),
                ExclusiveStartKey: cursor.k,
              },
        ),
      )
      .catch((error: Error) => {
        // A cursor from another shape of this listing (an older version's partitions): its start key
        // does not fit the index it now points at.
        if (resumeAt && error.name === 'ValidationException')
          throw new InvalidCursor('The cursor is not one this listing handed out');
        throw error;
      });
    const found = own
      ? ((page.Items ?? []) as T[]).map((row) => ({ item: row as Record<string, unknown>, row }))
      : await partition.rowsOf(page.Items ?? []);
    const keyAttributes = own ? listing.keyAttributes : partition.keyAttributes;
    const wanted = limit - items.length;
    if (found.length > wanted) {
      // More matches than the page needs: resume right after the last one returned.
      const taken = found.slice(0, wanted);
      items.push(...taken.map((f) => f.row));
      const last = (taken.at(-1) as { item: Record<string, unknown> }).item;
      cursor = { p: cursor.p, k: Object.fromEntries(keyAttributes.map((a) => [a, last[a]])) };
      break;
    }
    items.push(...found.map((f) => f.row));
    cursor = page.LastEvaluatedKey ? { p: cursor.p, k: page.LastEvaluatedKey } : { p: cursor.p + 1 };
  }
  return { items, nextCursor: cursor.p < partitions.length ? encodeCursor(cursor) : null };
}
