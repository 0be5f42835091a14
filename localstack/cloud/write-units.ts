/**
 * DynamoDB write units as AWS bills them, measured on dynalite's writes: the cost model's input
 * beside the call counts (an UpdateItem that moves an item between index partitions costs a
 * delete and a put on that index on top of the table's units).
 *
 * AWS's rules (on-demand and provisioned alike): a write costs ⌈size/1 KB⌉ units, the size
 * being the larger of the item before and after; each secondary index whose entry for the item
 * appears, disappears or changes costs ⌈entry size/1 KB⌉ per entry written or deleted (a key
 * change is a delete and a put); an index whose entry is unchanged costs nothing.
 *
 * Measured where dynalite applies a write (`db.updateIndexes`, pinned at 4.0.0, called for every
 * PutItem, UpdateItem and DeleteItem, batched or not, with the item before and after). Not
 * counted: writes whose condition failed (AWS bills them too, one table write each), TTL
 * deletes (free on AWS; their index deletes are not).
 */
import { type DynaliteItem, observeDynaliteWrites, sameItem } from './dynalite-writes.ts';

type Item = DynaliteItem;
type AttributeValue = Item[string];

interface IndexDescription {
  readonly IndexName: string;
  readonly KeySchema: readonly { AttributeName: string }[];
  readonly Projection: { ProjectionType?: string; NonKeyAttributes?: readonly string[] };
}

interface TableDescription {
  readonly TableName: string;
  readonly KeySchema: readonly { AttributeName: string }[];
  readonly GlobalSecondaryIndexes?: readonly IndexDescription[];
  readonly LocalSecondaryIndexes?: readonly IndexDescription[];
}

const units = (size: number) => Math.max(1, Math.ceil(size / 1024));

/** The index's entry for an item (its projection), or undefined if the item is not in it. */
function entryOf(item: Item | null | undefined, index: IndexDescription, table: TableDescription) {
  if (!item) return undefined;
  const keys = index.KeySchema.map((k) => k.AttributeName);
  if (!keys.every((k) => item[k] !== undefined)) return undefined;
  if (index.Projection.ProjectionType === 'ALL' || index.Projection.ProjectionType === undefined)
    return { key: keys.map((k) => JSON.stringify(item[k])).join('|'), item };
  const attributes = [
    ...keys,
    ...table.KeySchema.map((k) => k.AttributeName),
    ...(index.Projection.NonKeyAttributes ?? []),
  ];
  const projected: Item = {};
  for (const a of attributes) if (item[a] !== undefined) projected[a] = item[a] as AttributeValue;
  return { key: keys.map((k) => JSON.stringify(item[k])).join('|'), item: projected };
}

/** The write units of one write, by table and by index ("<table>" and "<table>/<index>"). */
export function writeUnitsOf(
  table: TableDescription,
  before: Item | null | undefined,
  after: Item | null | undefined,
  itemSize: (item: Item) => number,
): Map<string, number> {
  const spent = new Map<string, number>();
  spent.set(table.TableName, units(Math.max(before ? itemSize(before) : 0, after ? itemSize(after) : 0)));
  for (const index of [...(table.GlobalSecondaryIndexes ?? []), ...(table.LocalSecondaryIndexes ?? [])]) {
    const old = entryOf(before, index, table);
    const next = entryOf(after, index, table);
    let n = 0;
    if (old && next && old.key === next.key) {
      if (!sameItem(old.item, next.item)) n = units(itemSize(next.item));
    } else {
      if (old) n += units(itemSize(old.item));
      if (next) n += units(itemSize(next.item));
    }
    if (n > 0) spent.set(`${table.TableName}/${index.IndexName}`, n);
  }
  return spent;
}

/** Write units spent on one dynalite store, by table and index. */
export class WriteUnitMeter {
  private readonly spent = new Map<string, number>();

  /** Meters the writes of this store (dynamo-tables.ts hands it to dynalite's actions). */
  static attach(store: object): WriteUnitMeter {
    const meter = new WriteUnitMeter();
    observeDynaliteWrites(store, (table, before, after, itemSize) =>
      meter.add(writeUnitsOf(table, before, after, itemSize)),
    );
    return meter;
  }

  add(spent: ReadonlyMap<string, number>): void {
    for (const [key, n] of spent) this.spent.set(key, (this.spent.get(key) ?? 0) + n);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.spent.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
