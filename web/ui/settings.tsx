/** Endpoints (rename, reorder, fix token, remove with history) and storage (retention per tier, usage). */
import { useEffect, useState } from 'preact/hooks';
import { fmtBytes } from '../../shared/format.ts';
import { parseDuration, formatDuration } from '../../shared/duration.ts';
import type { AppState, Retention } from '../lib/state.ts';
import { StatusBadge } from './bits.tsx';
import { importFile } from '../lib/import.ts';
import { parseTags } from '../lib/health.ts';

export function Settings({ app, fix }: { app: AppState; fix?: string }) {
  const [usage, setUsage] = useState<{ usage?: number; quota?: number } | null>(null);
  const [persisted, setPersisted] = useState<boolean | null>(null);
  const [msg, setMsg] = useState('');
  useEffect(() => {
    void navigator.storage?.estimate?.().then(setUsage);
    void navigator.storage?.persisted?.().then(setPersisted);
  }, []);
  const ret = app.retention;
  return (
    <section class="settings">
      <div class="card">
        <h2>Agents</h2>
        <table>
          <tbody>
            {app.order.map((id, i) => {
              const s = app.eps.get(id)!;
              return (
                <tr data-endpoint={s.ep.name}>
                  <td>
                    {/* Uncontrolled: a controlled value was reset by every status re-render, wiping a name being typed. */}
                    <input
                      aria-label="name"
                      key={s.ep.name}
                      defaultValue={s.ep.name}
                      onChange={(e) => void app.updateEndpoint(id, { name: (e.target as HTMLInputElement).value || s.ep.name })}
                    />
                  </td>
                  <td>
                    {/* Tags for the overview's filter ("tag:prod"); stored with the endpoint. */}
                    <input
                      aria-label="tags"
                      placeholder="tags"
                      size={14}
                      key={(s.ep.tags ?? []).join(' ')}
                      defaultValue={(s.ep.tags ?? []).join(' ')}
                      onChange={(e) => {
                        try {
                          void app.updateEndpoint(id, { tags: parseTags((e.target as HTMLInputElement).value) });
                        } catch (x) {
                          setMsg((x as Error).message);
                        }
                      }}
                    />
                  </td>
                  <td class="small">{s.ep.url}</td>
                  <td>
                    <StatusBadge status={s.status} />
                  </td>
                  <td>
                    <button disabled={i === 0} onClick={() => void app.move(id, -1)} aria-label="move up">
                      ↑
                    </button>
                    <button disabled={i === app.order.length - 1} onClick={() => void app.move(id, 1)} aria-label="move down">
                      ↓
                    </button>
                    {!s.ep.readOnly && <TokenFix app={app} id={id} open={fix === id || s.status.kind === 'unauthorized'} />}
                    <EndpointRetention app={app} id={id} />
                    <button
                      class="danger"
                      onClick={() => {
                        if (confirm(`Remove ${s.ep.name} and all its history stored in this browser?`)) void app.removeEndpoint(id);
                      }}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <p>
          <a class="btn" href="#/add">
            Add an agent
          </a>{' '}
          <label class="btn">
            Import JSON export{' '}
            <input
              type="file"
              accept=".json,application/json"
              hidden
              onChange={async (e) => {
                const f = (e.target as HTMLInputElement).files?.[0];
                if (f) {
                  try {
                    setMsg(`imported ${await importFile(app, f)} as a read-only endpoint`);
                  } catch (x) {
                    setMsg(`import failed: ${(x as Error).message}`);
                  }
                }
              }}
            />
          </label>{' '}
          <span class="muted small">{msg}</span>
        </p>
      </div>
      <div class="card">
        <h2>History in this browser</h2>
        <p class="small">
          Used {fmtBytes(usage?.usage)} of {fmtBytes(usage?.quota)} · storage{' '}
          {persisted ? 'persistent' : 'best effort (the browser may evict it under pressure)'}
        </p>
        <form
          class="form inline"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.target as HTMLFormElement);
            const r = { raw: parseDuration(String(f.get('raw'))), '1m': parseDuration(String(f.get('1m'))), '1h': parseDuration(String(f.get('1h'))) };
            if (!r.raw || !r['1m'] || !r['1h']) {
              setMsg('retention: use durations like 7d, 90d, 730d');
              return;
            }
            void app.setRetention(r as { raw: number; '1m': number; '1h': number }).then(() => setMsg('retention saved'));
          }}
        >
          <label>
            raw <input name="raw" defaultValue={formatDuration(ret.raw)} size={6} />
          </label>
          <label>
            1-minute <input name="1m" defaultValue={formatDuration(ret['1m'])} size={6} />
          </label>
          <label>
            1-hour <input name="1h" defaultValue={formatDuration(ret['1h'])} size={6} />
          </label>
          <button>Save</button>
        </form>
        <p class="small muted">
          Per agent: "Retention…" in its row above overrides these for that agent only. When the browser's storage is full, the oldest raw history of the agent
          being written goes first, then its oldest 1-minute rollups.
        </p>
      </div>
    </section>
  );
}

function TokenFix({ app, id, open }: { app: AppState; id: string; open: boolean }) {
  const [show, setShow] = useState(open);
  const [tok, setTok] = useState('');
  if (!show) return <button onClick={() => setShow(true)}>Token…</button>;
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        if (tok.trim()) void app.updateEndpoint(id, { token: tok.trim() }).then(() => setShow(false));
      }}
    >
      <input placeholder="new token" value={tok} onInput={(e) => setTok((e.target as HTMLInputElement).value)} />
      <button>Save token</button>
    </form>
  );
}

const TIER_LABEL = { raw: 'raw', '1m': '1-minute', '1h': '1-hour' } as const;

/** One agent's retention, tier by tier; an empty field means "the default above". */
function EndpointRetention({ app, id }: { app: AppState; id: string }) {
  const [show, setShow] = useState(false);
  const [msg, setMsg] = useState('');
  const own = app.epRetention.get(id) ?? {};
  if (!show)
    return (
      <button onClick={() => setShow(true)} title="how long this agent's history is kept here">
        Retention{Object.keys(own).length ? ' (custom)' : '…'}
      </button>
    );
  return (
    <form
      class="inline"
      data-retention={id}
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.target as HTMLFormElement);
        const r: Partial<Retention> = {};
        for (const tier of ['raw', '1m', '1h'] as const) {
          const text = String(f.get(`ep-${tier}`) ?? '').trim();
          if (!text) continue;
          const ms = parseDuration(text);
          if (!ms) {
            setMsg('use durations like 2d, 30d');
            return;
          }
          r[tier] = ms;
        }
        void app.setEndpointRetention(id, r).then(() => {
          setMsg('saved');
          setShow(false);
        });
      }}
    >
      {(['raw', '1m', '1h'] as const).map((tier) => (
        <label>
          {TIER_LABEL[tier]}{' '}
          <input name={`ep-${tier}`} size={5} placeholder={formatDuration(app.retention[tier])} defaultValue={own[tier] ? formatDuration(own[tier]!) : ''} />
        </label>
      ))}
      <button>Save retention</button> <span class="small muted">{msg}</span>
    </form>
  );
}
