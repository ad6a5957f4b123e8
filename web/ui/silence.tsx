/** Silence a rule or one alert: for a period from now or until a time; or lift the silence. */
import { useState } from 'preact/hooks';
import { SILENCE_PERIODS } from '../lib/alert-lifecycle.ts';

export function SilenceControl({ until, onSilence }: { until: number | null; onSilence: (until: number | null) => void }) {
  const [custom, setCustom] = useState(false);
  const [err, setErr] = useState('');
  if (until !== null && until > Date.now())
    return (
      <span class="silence">
        <span class="muted">silenced until {fmtUntil(until)}</span>{' '}
        <button type="button" onClick={() => onSilence(null)}>
          Unsilence
        </button>
      </span>
    );
  if (custom)
    return (
      <form
        class="silence inline"
        onSubmit={(e) => {
          e.preventDefault();
          const v = String(new FormData(e.target as HTMLFormElement).get('until') ?? '');
          const t = new Date(v).getTime();
          if (!v || !Number.isFinite(t) || t <= Date.now()) return setErr('until: a time in the future');
          setErr('');
          setCustom(false);
          onSilence(t);
        }}
      >
        <input type="datetime-local" name="until" aria-label="silence until" />
        <button>Silence</button>
        <button type="button" onClick={() => setCustom(false)}>
          Cancel
        </button>
        {err && <span class="warn"> {err}</span>}
      </form>
    );
  return (
    <select
      class="silence"
      aria-label="silence"
      value=""
      onChange={(e) => {
        const v = (e.target as HTMLSelectElement).value;
        if (v === 'until') setCustom(true);
        else if (v) onSilence(Date.now() + Number(v));
      }}
    >
      <option value="">Silence…</option>
      {SILENCE_PERIODS.map(([label, ms]) => (
        <option value={String(ms)}>for {label}</option>
      ))}
      <option value="until">until a time…</option>
    </select>
  );
}

export function fmtUntil(t: number): string {
  const d = new Date(t);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleString();
}
