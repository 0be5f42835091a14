/**
 * Alerts: the alert rules with their state and last reading (admins may switch them on and
 * off, or delete them), and the alerts they raised, firing first; live on alert.fired and
 * alert.resolved. Rules are written through the API (POST /alerts/rules, docs/alerts.md).
 */
import { call, get } from '../api.ts';
import { useAction, useLiveData, useMay, useTick } from '../hooks.ts';
import { dateTime } from '../parts/format.ts';

interface Condition {
  metric: string;
  queue?: string;
  type?: string;
  op: string;
  threshold: number;
  forMinutes: number;
}
interface Rule {
  ruleId: string;
  name: string;
  enabled: boolean;
  condition: Condition;
  actions: { type: string; url?: string; to?: string; topicArn?: string }[];
  state: { status: 'ok' | 'firing'; breaches: number; lastValue?: number | null; lastEvaluatedAt?: string };
}
interface Alert {
  alertId: string;
  ruleId: string;
  name: string;
  condition: Condition;
  status: 'firing' | 'resolved';
  firedAt: string;
  value: number | null;
  resolvedAt?: string;
  resolvedBecause?: string;
  detail?: string;
  notices?: { transition: string; to: string; delivered: boolean; error?: string }[];
}

const isAlertEvent = (e: { type: string }) => e.type === 'alert.fired' || e.type === 'alert.resolved';
const conditionText = (c: Condition) =>
  `${c.metric}${c.queue ? ` (${c.queue}${c.type ? ` / ${c.type}` : ''})` : ''} ${c.op} ${c.threshold}` +
  (c.forMinutes > 1 ? ` for ${c.forMinutes} min` : '');

export function AlertsPage() {
  const mayEdit = useMay('admin');
  const action = useAction<string>();
  // A rule's last reading changes every minute without an event: reload it with the minute.
  const minute = Math.floor(useTick(15_000) / 60_000);
  const rules = useLiveData(() => get<{ rules: Rule[] }>('/alerts/rules'), [minute], isAlertEvent, 1000);
  const alerts = useLiveData(() => get<{ alerts: Alert[] }>('/alerts?limit=200'), [], isAlertEvent, 1000);
  const shown = [...(alerts.data?.alerts ?? [])].sort(
    (a, b) => Number(b.status === 'firing') - Number(a.status === 'firing'),
  );
  const reload = () => {
    rules.reload();
    alerts.reload();
  };
  const toggle = (rule: Rule) =>
    action.run(
      rule.ruleId,
      async () => {
        await call('PATCH', `/alerts/rules/${encodeURIComponent(rule.ruleId)}`, { enabled: !rule.enabled });
        return `${rule.name}: ${rule.enabled ? 'disabled' : 'enabled'}`;
      },
      reload,
    );
  const remove = (rule: Rule) => {
    if (!confirm(`Delete the alert rule "${rule.name}"?`)) return;
    void action.run(
      rule.ruleId,
      async () => {
        await call('DELETE', `/alerts/rules/${encodeURIComponent(rule.ruleId)}`);
        return `${rule.name}: deleted`;
      },
      reload,
    );
  };
  const firing = shown.filter((a) => a.status === 'firing').length;
  return (
    <div>
      <p class="summary" role="status">
        {firing ? `${firing} alert${firing > 1 ? 's' : ''} firing` : 'No alert firing'} ·{' '}
        {rules.data?.rules.length ?? 0} rules (POST /alerts/rules adds one, see docs/alerts.md)
      </p>
      {action.notice && (
        <p class="notice" role="status">
          {action.notice}
        </p>
      )}
      {(action.error || rules.error || alerts.error) && (
        <p class="error">{action.error ?? rules.error ?? alerts.error}</p>
      )}
      <h2>Rules</h2>
      <table class="grid" aria-label="Alert rules">
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Condition</th>
            <th scope="col">State</th>
            <th scope="col">Last value</th>
            <th scope="col">Evaluated</th>
            <th scope="col">Actions</th>
            {mayEdit && <th scope="col">Change</th>}
          </tr>
        </thead>
        <tbody>
          {(rules.data?.rules ?? []).map((r) => (
            <tr key={r.ruleId} data-rule={r.ruleId}>
              <td>{r.name}</td>
              <td>{conditionText(r.condition)}</td>
              <td class={`health ${r.state.status === 'firing' ? 'red' : r.enabled ? 'green' : ''}`}>
                {r.enabled ? r.state.status : 'disabled'}
              </td>
              <td>{r.state.lastValue ?? '—'}</td>
              <td>{dateTime(r.state.lastEvaluatedAt)}</td>
              <td class="clip">
                {r.actions.map((a) => `${a.type} ${a.url ?? a.to ?? a.topicArn ?? ''}`.trim()).join(', ') ||
                  '—'}
              </td>
              {mayEdit && (
                <td>
                  <button type="button" disabled={action.busy === r.ruleId} onClick={() => void toggle(r)}>
                    {r.enabled ? 'Disable' : 'Enable'}
                  </button>{' '}
                  <button
                    type="button"
                    class="danger"
                    disabled={action.busy === r.ruleId}
                    onClick={() => remove(r)}
                  >
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Alerts</h2>
      <table class="grid" aria-label="Alerts">
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Rule</th>
            <th scope="col">Condition</th>
            <th scope="col">Value</th>
            <th scope="col">Fired</th>
            <th scope="col">Resolved</th>
            <th scope="col">Told</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((a) => (
            <tr key={a.alertId} data-alert={a.alertId}>
              <td class={`health ${a.status === 'firing' ? 'red' : 'green'}`}>{a.status}</td>
              <td>{a.name}</td>
              <td title={a.detail}>{conditionText(a.condition)}</td>
              <td>{a.value ?? '—'}</td>
              <td>{dateTime(a.firedAt)}</td>
              <td>
                {dateTime(a.resolvedAt)}
                {a.resolvedBecause ? ` (${a.resolvedBecause})` : ''}
              </td>
              <td class="clip">
                {(a.notices ?? [])
                  .map(
                    (n) => `${n.transition} → ${n.to}: ${n.delivered ? 'delivered' : (n.error ?? 'failed')}`,
                  )
                  .join('; ') || '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
