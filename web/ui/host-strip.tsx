/** The host's newest values in one line: CPU (and a per-core heat strip), memory, swap, load, uptime, network, disk. */
import { fmtUnit } from '../../shared/format.ts';
import type { EpState } from '../lib/state.ts';
import { val } from '../lib/values.ts';

export function HostStrip({ s }: { s: EpState }) {
  const cores = (s.schema?.series ?? []).filter((x) => /^host\.cpu\d+\.util$/.test(x.key));
  const f = (key: string, unit: string, digits?: number) => fmtUnit(val(s, key), unit, digits === undefined ? {} : { digits });
  return (
    <div class="strip card">
      <span class="kv">
        <b>CPU</b> <span class="num">{f('host.cpu.util', '%', 0)}</span>
      </span>
      <span class="heat" title="per-core utilization">
        {cores.map((c) => {
          const v = val(s, c.key) ?? 0;
          return <i style={{ opacity: 0.15 + (v / 100) * 0.85 }} title={`${c.label}: ${fmtUnit(v, '%', { digits: 0 })}`} />;
        })}
      </span>
      <span class="kv">
        <b>Memory</b>{' '}
        <span class="num">
          {f('host.mem.used', 'B')} / {f('host.mem.total', 'B')}
        </span>
      </span>
      <span class="kv">
        <b>Swap</b>{' '}
        <span class="num">
          {f('host.swap.used', 'B')} / {f('host.swap.total', 'B')}
        </span>
      </span>
      <span class="kv">
        <b>Load</b> <span class="num">{[1, 5, 15].map((n) => f(`host.load${n}`, '', 2)).join(' ')}</span>
      </span>
      <span class="kv">
        <b>Up</b> <span class="num">{f('host.uptime', 's')}</span>
      </span>
      <span class="kv">
        <b>Net</b>{' '}
        <span class="num">
          ↓{f('host.net.rx', 'B/s')} ↑{f('host.net.tx', 'B/s')}
        </span>
      </span>
      <span class="kv">
        <b>Disk</b>{' '}
        <span class="num">
          r {f('host.disk.read', 'B/s')} w {f('host.disk.write', 'B/s')}
        </span>
      </span>
      {s.schema?.host.cpu_model && (
        <span class="muted small">
          {s.schema.host.cpu_model} · {s.schema.host.threads} threads
        </span>
      )}
    </div>
  );
}
