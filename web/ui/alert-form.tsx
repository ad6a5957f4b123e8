/**
 * Add or edit an alert rule: a threshold on any catalog series, or a health rule. An edit keeps the
 * rule's id (and so its open alerts). Selects are preset with `selected` on the option: Preact sets
 * no `defaultValue` on a <select>.
 */
import { useMemo, useState } from 'preact/hooks';
import { formatDuration, parseDuration } from '../../shared/duration.ts';
import { unitName } from '../../shared/format.ts';
import { defaultLabel, HEALTH_KINDS, HEALTH_LABELS, validateRule, type Rule } from '../lib/alert-rules.ts';
import { metricGroups, type MetricGroup } from '../lib/alert-metrics.ts';
import type { AppState } from '../lib/state.ts';

/** Every series the agents' schemas list, grouped for the metric picker; built again only when a schema changes. */
export function useMetricGroups(app: AppState): MetricGroup[] {
  const schemas = [...app.eps.values()].map((s) => s.schema);
  return useMemo(() => metricGroups(schemas.flatMap((x) => x?.series ?? [])), schemas);
}

const FOR_HINT: Record<Rule['kind'], string> = {
  threshold: 'For',
  throttle: 'For',
  gpu_lost: 'For',
  silent: 'Silent for',
  xid: 'Keep open for',
  ecc: 'Keep open for',
};
const DEFAULT_FOR: Record<Rule['kind'], string> = { threshold: '60s', throttle: '30s', gpu_lost: '0s', silent: '2m', xid: '1h', ecc: '1h' };

/** `groups`: the metric picker's options, from the page (useMetricGroups), which needs them too. */
export function RuleForm({ app, groups, editing, onDone }: { app: AppState; groups: MetricGroup[]; editing: Rule | null; onDone: () => void }) {
  const [kind, setKind] = useState<Rule['kind']>(editing?.kind ?? 'threshold');
  const [err, setErr] = useState('');
  const th = editing?.kind === 'threshold' ? editing : null;
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const forText = String(f.get('for') ?? '').trim();
    const forMs = parseDuration(forText || '0');
    if (forMs === null) return setErr(`for: "${forText}" is not a duration like 60s, 5m or 1h`);
    const parsed = validateRule({
      id: editing?.id ?? crypto.randomUUID(),
      created: editing?.created ?? Date.now(),
      enabled: editing?.enabled ?? true,
      silencedUntil: editing?.silencedUntil ?? null,
      kind,
      ep: String(f.get('ep')),
      metric: String(f.get('metric') ?? ''),
      op: String(f.get('op') ?? ''),
      threshold: f.get('threshold') === null || f.get('threshold') === '' ? NaN : Number(f.get('threshold')),
      forS: forMs / 1000,
      label: String(f.get('label') ?? ''),
    });
    if (!parsed.ok) return setErr(parsed.error);
    setErr('');
    await app.alerts.saveRule(parsed.rule);
    onDone(); // the page remounts the form, back to its defaults
  };
  return (
    <form class="form inline rule-form" onSubmit={submit} key={editing?.id ?? 'new'}>
      <label>
        Rule{' '}
        <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as Rule['kind'])}>
          <option value="threshold">Threshold on a series</option>
          {HEALTH_KINDS.map((k) => (
            <option value={k}>{HEALTH_LABELS[k]}</option>
          ))}
        </select>
      </label>
      <label>
        Endpoint{' '}
        <select name="ep">
          <option value="*">all endpoints</option>
          {app.order.map((id) => (
            <option value={id} selected={editing?.ep === id}>
              {app.eps.get(id)!.ep.name}
            </option>
          ))}
        </select>
      </label>
      {kind === 'threshold' && (
        <>
          <label>
            Metric{' '}
            <select name="metric">
              {groups.map((g) => (
                <optgroup label={g.label}>
                  {g.options.map((o) => (
                    <option value={o.key} selected={o.key === (th?.metric ?? 'gpu*.temp')}>
                      {o.label}
                      {o.unit ? ` (${unitName(o.unit)})` : ''}
                    </option>
                  ))}
                </optgroup>
              ))}
              {th && !groups.some((g) => g.options.some((o) => o.key === th.metric)) && (
                <option value={th.metric} selected>
                  {th.metric}
                </option>
              )}
            </select>
          </label>
          <label>
            Is{' '}
            <select name="op">
              <option value=">">&gt;</option>
              <option value="<" selected={th?.op === '<'}>
                &lt;
              </option>
            </select>
          </label>
          <label>
            Threshold <input name="threshold" type="number" step="any" defaultValue={String(th?.threshold ?? 85)} size={6} />
          </label>
        </>
      )}
      <label>
        {FOR_HINT[kind]}{' '}
        <input name="for" key={kind} defaultValue={editing && editing.kind === kind ? formatDuration(editing.forS * 1000) : DEFAULT_FOR[kind]} size={6} />
      </label>
      <label>
        Label <input name="label" placeholder="GPU hot" defaultValue={editing && editing.label !== defaultLabel(editing) ? editing.label : ''} />
      </label>
      <button>{editing ? 'Save rule' : 'Add rule'}</button>
      {editing && (
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      )}
      {err && <p class="warn">{err}</p>}
    </form>
  );
}
