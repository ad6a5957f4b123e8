/** Adding an agent: by URL + token, or by a pairing link (handled in app.tsx). */
import { useState } from 'preact/hooks';
import { checkAgent, type CheckResult } from '../lib/agent-check.ts';
import { mixedContentProblem, type AppState } from '../lib/state.ts';

export function AddForm({ app, navigate, sameOrigin }: { app: AppState; navigate: (h: string) => void; sameOrigin: boolean }) {
  const [url, setUrl] = useState(() => sessionStorage.getItem('gpulse.add.url') ?? (sameOrigin ? location.origin : ''));
  const [token, setToken] = useState('');
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'agent' | 'prometheus'>('agent');
  const prom = kind === 'prometheus';
  const [err, setErr] = useState<{ kind: CheckResult['kind'] | 'error'; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const warn = mixedContentProblem(location.protocol, url);
  const submit = async (e: Event) => {
    e.preventDefault();
    setErr(null);
    setBusy(true);
    try {
      if (prom) {
        await app.addPrometheus(url, token.trim(), name.trim() || undefined);
        sessionStorage.removeItem('gpulse.add.url');
        navigate('#/');
        return;
      }
      // Saved only once the agent answered /v1/info with this token; otherwise the form says why.
      const check = await checkAgent(url, token, { pageProtocol: location.protocol });
      if (check.kind !== 'ok') {
        setErr(check);
        return;
      }
      const ep = await app.addEndpoint(check.url, token.trim(), name.trim() || undefined, { info: check.info });
      sessionStorage.removeItem('gpulse.add.url');
      navigate(`#/e/${ep.id}`);
    } catch (x) {
      setErr({ kind: 'error', message: (x as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card narrow">
      <h2>Add an agent</h2>
      {sameOrigin && (
        <p>
          This page is served by a gpulse agent: its URL is filled in. Paste its token (<code>gpulse token</code> on that machine).
        </p>
      )}
      <form onSubmit={submit} class="form">
        <label>
          Kind{' '}
          <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as 'agent' | 'prometheus')}>
            <option value="agent">gpulse agent</option>
            <option value="prometheus">Prometheus (or VictoriaMetrics, Thanos Query): read-only</option>
          </select>
        </label>
        <label>
          {prom ? 'Prometheus URL' : 'Agent URL'}{' '}
          <input
            name="url"
            required
            placeholder={prom ? 'http://prometheus:9090' : 'http://gpu-box:9740'}
            value={url}
            onInput={(e) => {
              const v = (e.target as HTMLInputElement).value;
              setUrl(v);
              sessionStorage.setItem('gpulse.add.url', v);
            }}
          />
        </label>
        {warn && <p class="warn">{warn}</p>}
        <label>
          {prom ? 'Bearer token (optional)' : 'Token'}{' '}
          <input name="token" required={!prom} autocomplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Name (optional) <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        {prom && (
          <p class="muted small">
            The server must allow this page's origin (CORS): see "Prometheus and fleets" in the README. Its hosts and GPUs show live in the overview; nothing is
            stored.
          </p>
        )}
        {err && (
          <p class="warn" role="alert" data-reason={err.kind}>
            {err.message}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Add'}
        </button>
      </form>
      <p class="muted small">
        Quicker: run <code>gpulse pair --url http://HOST:9740{sameOrigin ? '' : ` --app ${location.origin}${location.pathname}`}</code> on the GPU machine and
        open the link (or scan its QR code){sameOrigin ? '' : ': it adds the agent to this app, beside the others'}.
      </p>
    </section>
  );
}
