/**
 * The fleet table: one 24-px row per host, one cell per GPU (util as a heat tint, temperature,
 * power, a memory bar, a health outline), in the spirit of Beszel's system table and nvtop's rows.
 * No charts per row: 100 hosts re-render as 100 small rows of text, and a row whose inputs did not
 * change is not diffed at all (rowNode below).
 */
import type { JSX } from 'preact';
import { fmtAgo, fmtBytes, fmtNum, fmtUnit } from '../../shared/format.ts';
import { isDown, type FleetRow } from '../lib/fleet.ts';
import type { GpuReading, Problem } from '../lib/health.ts';
import { gpuProblems, worst } from '../lib/health.ts';
import type { EpState } from '../lib/state.ts';
import { StatusBadge, shortName } from './bits.tsx';
import './fleet.css';

/**
 * Heat tint for a utilization: transparent at 0 %, the utilization blue at 100 % (text stays
 * readable on both schemes). Quantized to 5 % steps, so a reading that moves by a point or two
 * leaves the cell's style alone and costs no style recalculation.
 */
const heat = (u: number | null) => (u === null ? undefined : `rgba(59, 130, 246, ${(Math.round(Math.min(100, Math.max(0, u)) / 5) * 0.0275).toFixed(3)})`);

function GpuCell({ g, now }: { g: GpuReading; now: number }) {
  const problems = gpuProblems(g, now);
  const level = worst(problems.map((p) => p.level));
  const mem = g.memUsed !== null && g.memTotal ? (g.memUsed / g.memTotal) * 100 : null;
  const title = [
    `GPU ${g.index}: util ${fmtUnit(g.util, '%')}, memory ${fmtBytes(g.memUsed, 0)} / ${fmtBytes(g.memTotal, 0)}, ${fmtUnit(g.temp, 'C')}, ${fmtUnit(g.power, 'W')}`,
    ...problems.map((p) => p.text),
  ].join('\n');
  return (
    <span class={`gcell lvl-${level}`} data-gpu={g.index} data-level={level} title={title} style={{ background: heat(g.util) }}>
      <b class="num">{g.util === null ? '—' : `${Math.round(g.util)}%`}</b>
      <span class="num">{g.temp === null ? '—' : `${Math.round(g.temp)}°`}</span>
      <span class="num">{g.power === null ? '—' : `${Math.round(g.power)}W`}</span>
      {problems.length > 0 && <i class="gflag">{problems.map((p) => SHORT[p.code]).join(' ')}</i>}
      <span class="gmem" style={{ transform: `scaleX(${(mem ?? 0) / 100})` }} />
    </span>
  );
}

/** Short flags inside a GPU cell; the full sentence is in the cell's title and the row's problem column. */
const SHORT: Record<Problem['code'], string> = { lost: 'LOST', xid: 'XID', ecc: 'ECC', throttle: 'THR', hot: 'HOT', 'mem-full': 'MEM', unreachable: '' };

function Row({ r, now }: { r: FleetRow; now: number }) {
  const hostProblems = r.health.problems.filter((p) => p.code === 'unreachable');
  const gpuProblemCount = r.health.problems.length - hostProblems.length;
  return (
    <a
      class={`tile fleet-row st-${r.status.kind} lvl-${r.health.level}${r.dim ? ' dim' : ''}`}
      href={`#/e/${r.id}`}
      data-endpoint={r.name}
      data-level={r.health.level}
    >
      <span class="fname" title={[r.hostname, r.gpuModel, r.tags.join(' ')].filter(Boolean).join(' · ')}>
        <i class={`dot lvl-${r.health.level}`} />
        <strong>{r.name}</strong>
        <span class="muted small">
          {r.gpuModel ? ` ${r.gpus.length}× ${shortName(r.gpuModel)}` : r.hostname ? ' no GPU' : ''}
          {r.tags.map((t) => (
            <span class="tag">{t}</span>
          ))}
        </span>
      </span>
      <span class="num fnum" title="CPU utilization">
        {fmtNum(r.cpu, '%')}
      </span>
      <span class="num fnum" title="host memory used">
        {fmtNum(r.mem, '%')}
      </span>
      <span class="gcells">
        {r.gpus.map((g) => (
          <GpuCell key={g.index} g={g} now={now} />
        ))}
      </span>
      <span class="fstate small">
        <StatusBadge status={r.status} />
        {r.dim && r.lastSeen !== null && <span class="seen"> last seen {fmtAgo(r.lastSeen, now)}</span>}
        {!r.dim && gpuProblemCount > 0 && (
          <span class="warn"> {gpuProblemCount === 1 ? r.health.problems.find((p) => p.code !== 'unreachable')!.text : `${gpuProblemCount} problems`}</span>
        )}
      </span>
    </a>
  );
}

export function FleetHeader() {
  return (
    <div class="fleet-row fleet-head muted small" aria-hidden="true">
      <span>host</span>
      <span class="fnum">CPU</span>
      <span class="fnum">MEM</span>
      <span>GPUs: util · temp · power, memory bar; outline = health</span>
      <span>state</span>
    </div>
  );
}

/**
 * A row's vnode is reused while its inputs are the same objects: Preact skips diffing an identical
 * vnode, so a sample from one host re-renders one row, not a hundred. An offline row also changes
 * every 10 s, for its "last seen" text.
 */
const rows = new Map<string, { key: unknown[]; row: FleetRow; node: JSX.Element }>();
export function cachedRow(s: EpState, now: number, build: (s: EpState, now: number) => FleetRow): { row: FleetRow; node: JSX.Element } {
  // A minute bucket while a GPU has an XID: its "in the last 15 min" flag must expire without new data.
  const xid = Object.keys(s.xidAt).length ? Math.floor(now / 60_000) : 0;
  const key = [s.last, s.status, s.schema, s.extras, s.ep, s.xidAt, s.lastSeen, isDown(s.status.kind) ? Math.floor(now / 10_000) : 0, xid];
  const hit = rows.get(s.ep.id);
  if (hit && hit.key.every((k, i) => k === key[i])) return hit;
  const row = build(s, now);
  const entry = { key, row, node: <Row key={s.ep.id} r={row} now={now} /> };
  rows.set(s.ep.id, entry);
  return entry;
}

/** Forgets the rows of endpoints no longer listed (removed ones would otherwise stay cached for good). */
export function pruneRows(ids: ReadonlySet<string>) {
  for (const id of rows.keys()) if (!ids.has(id)) rows.delete(id);
}
