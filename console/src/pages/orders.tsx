/**
 * Orders: each robot order's assembly graph (its steps as a DAG, coloured by state, live), and
 * a batch's jobs drawn the same way from their dependencies.
 */
import { useMemo, useState } from 'preact/hooks';
import { get, query } from '../api.ts';
import { useLiveData, useSession } from '../hooks.ts';
import { Dag, type DagNode } from '../parts/dag.tsx';
import { dateTime, duration, stateClass } from '../parts/format.ts';
import type { OrderStatus, RobotType } from '../types.ts';

interface OrderRow {
  readonly orderId: string;
  readonly robotType: string;
  readonly status: string;
  readonly createdAt: string;
  readonly customerId?: string;
}

export function OrdersPage(props: { readonly params: URLSearchParams }) {
  const [selected, setSelected] = useState<string | undefined>(props.params.get('order') ?? undefined);
  const [status, setStatus] = useState('');
  const orders = useLiveData(
    () => get<{ orders: OrderRow[] }>(`/orders${query({ status, limit: 30 })}`),
    [status],
    (e) => e.type.startsWith('order.'),
    1500,
  );
  const shown = selected ?? orders.data?.orders[0]?.orderId;
  return (
    <div class="split">
      <section aria-labelledby="orders-title">
        <h2 id="orders-title">Robot orders</h2>
        <label>
          State{' '}
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">all</option>
            {['PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        {orders.error && <p class="error">{orders.error}</p>}
        <ul class="picker">
          {(orders.data?.orders ?? []).map((o) => (
            <li key={o.orderId}>
              <button
                type="button"
                class="link"
                aria-current={o.orderId === shown ? 'true' : undefined}
                onClick={() => setSelected(o.orderId)}
              >
                {o.orderId}
              </button>{' '}
              {o.robotType} <span class={`state ${stateClass(o.status)}`}>{o.status}</span>
            </li>
          ))}
        </ul>
        {orders.data?.orders.length === 0 && <p class="muted">No orders yet: POST /orders places one.</p>}
        <BatchPicker />
      </section>
      <section>{shown && <OrderGraph orderId={shown} />}</section>
    </div>
  );
}

function OrderGraph(props: { readonly orderId: string }) {
  const { openJob } = useSession();
  const types = useLiveData(
    () => get<RobotType[]>('/robot-types'),
    [],
    () => false,
  );
  const order = useLiveData(
    () => get<OrderStatus>(`/orders/${encodeURIComponent(props.orderId)}/status`),
    [props.orderId],
    (e) => e.orderId === props.orderId,
    300,
  );
  const graph = useMemo(() => {
    const o = order.data;
    const type = types.data?.find((t) => t.name === o?.robotType);
    if (!o) return undefined;
    const nodes: DagNode[] = o.steps.map((s) => ({
      id: s.name,
      label: s.name,
      status: s.status,
      detail: s.attempts > 1 ? `${s.attempts} attempts` : undefined,
      jobId: s.jobId,
    }));
    const edges = (type?.steps ?? []).flatMap((s) => s.dependsOn.map((d) => [d, s.name] as const));
    return { nodes, edges };
  }, [order.data, types.data]);
  const o = order.data;
  return (
    <div class="order" data-order={props.orderId}>
      <h2>
        Order <code>{props.orderId}</code>
      </h2>
      {order.error && <p class="error">{order.error}</p>}
      {o && (
        <p>
          {o.robotType} · <span class={`state ${stateClass(o.status)}`}>{o.status}</span> · {o.progress}% ·
          placed {dateTime(o.createdAt)}
          {o.completedAt ? ` · finished ${dateTime(o.completedAt)}` : ''}
        </p>
      )}
      {graph && (
        <Dag
          nodes={graph.nodes}
          edges={graph.edges}
          label={`Assembly graph of ${props.orderId}`}
          onOpen={(node) => node.jobId && openJob(node.jobId)}
        />
      )}
    </div>
  );
}

/** A batch's jobs and their dependencies (the first 100 jobs). */
function BatchPicker() {
  const [batchId, setBatchId] = useState('');
  const [shown, setShown] = useState<string | undefined>(undefined);
  return (
    <div class="batch">
      <h2>Batch graph</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setShown(batchId.trim() || undefined);
        }}
      >
        <label>
          Batch id
          <input value={batchId} onInput={(e) => setBatchId(e.currentTarget.value)} placeholder="batch_…" />
        </label>
        <button type="submit">Show</button>
      </form>
      {shown && <BatchGraph batchId={shown} />}
    </div>
  );
}

function BatchGraph(props: { readonly batchId: string }) {
  const { openJob } = useSession();
  const graph = useLiveData(
    () =>
      get<{
        nodes: { jobId: string; type: string; status: string }[];
        edges: { from: string; to: string }[];
        criticalPath: { jobIds: string[]; runMs: number };
        truncated: boolean;
      }>(`/job-batches/${encodeURIComponent(props.batchId)}/graph`),
    [props.batchId],
    (e) => e.type.startsWith('job.') && e.type !== 'job.progress',
    2000,
  );
  const g = graph.data;
  return (
    <div>
      {graph.error && <p class="error">{graph.error}</p>}
      {g && (
        <>
          <p>
            {g.nodes.length} jobs{g.truncated ? ' (the first 1,000 drawn)' : ''}; critical path{' '}
            {g.criticalPath.jobIds.length} jobs, {duration(g.criticalPath.runMs)} of run time
          </p>
          <Dag
            nodes={g.nodes.map((j) => ({
              id: j.jobId,
              label: `${j.type} ${j.jobId.slice(-6)}`,
              status: j.status,
              jobId: j.jobId,
            }))}
            edges={g.edges.map((e) => [e.from, e.to] as const)}
            label={`Dependency graph of batch ${props.batchId}`}
            onOpen={(node) => node.jobId && openJob(node.jobId)}
          />
        </>
      )}
    </div>
  );
}
