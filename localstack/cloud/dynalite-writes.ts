/**
 * Every write dynalite applies, with the item before and after: what the write-unit meter and
 * the local DynamoDB Streams are built on.
 *
 * dynalite (pinned at 4.0.0) calls `db.updateIndexes` for every PutItem, UpdateItem and
 * DeleteItem, batched or not, after the condition held and with the item's lock taken, then
 * writes the item. Its actions call it through the module object, so one wrapper sees them all;
 * observers run once the index writes succeeded (a failed write is not observed).
 */
import { createRequire } from 'node:module';

export type DynaliteItem = Record<string, Record<string, unknown>>;

export interface DynaliteTable {
  readonly TableName: string;
  readonly KeySchema: readonly { AttributeName: string }[];
  readonly GlobalSecondaryIndexes?: readonly {
    IndexName: string;
    KeySchema: readonly { AttributeName: string }[];
    Projection: { ProjectionType?: string; NonKeyAttributes?: readonly string[] };
  }[];
  readonly LocalSecondaryIndexes?: DynaliteTable['GlobalSecondaryIndexes'];
}

export type WriteObserver = (
  table: DynaliteTable,
  before: DynaliteItem | null | undefined,
  after: DynaliteItem | null | undefined,
  itemSize: (item: DynaliteItem) => number,
) => void;

type UpdateIndexes = (
  store: object,
  table: DynaliteTable,
  existingItem: DynaliteItem | null | undefined,
  item: DynaliteItem | null | undefined,
  cb: (error?: unknown) => void,
) => void;

interface DynaliteDb {
  updateIndexes: UpdateIndexes;
  itemSize(item: DynaliteItem): number;
}

/** Whether two items hold the same attributes and values, whatever their attribute order. */
export function sameItem(a: DynaliteItem, b: DynaliteItem): boolean {
  const canonical = (item: DynaliteItem) =>
    JSON.stringify(
      Object.keys(item)
        .sort()
        .map((k) => [k, item[k]]),
    );
  return canonical(a) === canonical(b);
}

const require = createRequire(import.meta.url);

/** An item's size by DynamoDB's rules (attribute names and values), as dynalite measures it. */
export const dynaliteItemSize = (item: DynaliteItem): number =>
  (require('dynalite/db/index.js') as DynaliteDb).itemSize(item);

const observers = new WeakMap<object, WriteObserver[]>();
let installed = false;

/** Calls `observer` for each write applied to this store (the one dynamo-tables.ts gives dynalite's actions). */
export function observeDynaliteWrites(store: object, observer: WriteObserver): void {
  install();
  observers.set(store, [...(observers.get(store) ?? []), observer]);
}

function install(): void {
  if (installed) return;
  installed = true;
  const db = require('dynalite/db/index.js') as DynaliteDb;
  const updateIndexes = db.updateIndexes;
  const itemSize = (item: DynaliteItem) => db.itemSize(item);
  db.updateIndexes = (store, table, existingItem, item, cb) => {
    const watching = observers.get(store);
    if (!watching) return updateIndexes(store, table, existingItem, item, cb);
    updateIndexes(store, table, existingItem, item, (error) => {
      if (!error) for (const observe of watching) observe(table, existingItem, item, itemSize);
      cb(error);
    });
  };
}
