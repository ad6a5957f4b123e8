/** One GPU's card: live bars, throttle/lost/MIG/ECC badges in words, and its processes (full command line on hover or click). */
import { useState } from 'preact/hooks';
import { eccWords, throttleWords } from '../../shared/explain.ts';
import { fmtUnit } from '../../shared/format.ts';
import type { EpState } from '../lib/state.ts';
import { val } from '../lib/values.ts';
import { Bar, COLORS } from './bits.tsx';

type Extras = NonNullable<EpState['extras']>['gpus'][number];

function badgesOf(extras: Extras | undefined): { text: string; title: string }[] {
  if (!extras) return [];
  const ecc = eccWords(extras.ecc_volatile);
  return [
    ...extras.throttle.map((t) => ({ text: `throttled: ${throttleWords(t)}`, title: t })),
    ...(extras.lost
      ? [{ text: 'GPU lost', title: 'the driver reports the GPU as lost (fallen off the bus or hung); its values are empty until it recovers' }]
      : []),
    ...(extras.mig ? [{ text: 'MIG', title: 'Multi-Instance GPU mode: split into isolated instances' }] : []),
    ...(extras.ecc_volatile?.uncorrected && ecc ? [{ text: `ECC: ${extras.ecc_volatile.uncorrected} uncorrectable`, title: ecc }] : []),
  ];
}

export function GpuCard({ s, index, name, uuid, extras }: { s: EpState; index: number; name: string; uuid: string; extras?: Extras }) {
  const p = `gpu${index}.`;
  const v = (k: string) => val(s, p + k);
  const [sortBy, setSortBy] = useState<'gpu_mem' | 'pid'>('gpu_mem');
  const procs = [...(extras?.processes ?? [])].sort((a, b) => (sortBy === 'pid' ? a.pid - b.pid : (b.gpu_mem ?? 0) - (a.gpu_mem ?? 0)));
  const badges = badgesOf(extras);
  return (
    <div class="card gpu" data-gpu={index}>
      <h3>
        <span class="num">{index}</span> {name}{' '}
        <small class="muted" title={uuid} onClick={() => navigator.clipboard?.writeText(uuid)}>
          {uuid.slice(0, 12)}…
        </small>{' '}
        {extras?.pstate && <span class="pill">{extras.pstate}</span>}
      </h3>
      {badges.length > 0 && (
        <div class="badges">
          {badges.map((b) => (
            <span class="badge st-error" title={b.title}>
              {b.text}
            </span>
          ))}
        </div>
      )}
      <Bar label="util" value={v('util')} color={COLORS.util} text={fmtUnit(v('util'), '%')} />
      <Bar label="mem bw" value={v('mem_bw.util')} color={COLORS.membw} text={fmtUnit(v('mem_bw.util'), '%')} />
      <Bar
        label="memory"
        value={v('mem.used')}
        max={v('mem.total')}
        color={COLORS.mem}
        text={`${fmtUnit(v('mem.used'), 'B')} / ${fmtUnit(v('mem.total'), 'B')}`}
      />
      <Bar
        label="power"
        value={v('power')}
        max={v('power.limit')}
        color={COLORS.power}
        text={`${fmtUnit(v('power'), 'W')} / ${fmtUnit(v('power.limit'), 'W')}`}
      />
      <Bar label="temp" value={v('temp')} max={100} color={COLORS.temp} text={fmtUnit(v('temp'), 'C')} />
      <Bar label="fan" value={v('fan')} color={COLORS.fan} text={fmtUnit(v('fan'), '%')} />
      <div class="small num muted">
        SM {fmtUnit(v('clock.sm'), 'MHz')} · mem {fmtUnit(v('clock.mem'), 'MHz')} · enc {fmtUnit(v('enc.util'), '%')} · dec {fmtUnit(v('dec.util'), '%')} · PCIe
        ↓{fmtUnit(v('pcie.rx'), 'B/s')} ↑{fmtUnit(v('pcie.tx'), 'B/s')}
      </div>
      <table class="procs">
        <thead>
          <tr>
            <th>user</th>
            <th onClick={() => setSortBy('pid')}>pid</th>
            <th>command</th>
            <th>container</th>
            <th onClick={() => setSortBy('gpu_mem')}>memory</th>
          </tr>
        </thead>
        <tbody>
          {procs.length ? (
            procs.map((pr) => (
              <tr>
                <td>{pr.user ?? '?'}</td>
                <td class="num">{pr.pid}</td>
                <Command text={pr.command} />
                <td>{pr.container ?? ''}</td>
                <td class="num">{fmtUnit(pr.gpu_mem, 'B')}</td>
              </tr>
            ))
          ) : (
            <tr>
              <td colSpan={5} class="muted">
                no processes
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** A command line cut to one line; the whole of it in the tooltip, and wrapped in full after a click. */
function Command({ text }: { text: string | null }) {
  const [open, setOpen] = useState(false);
  return (
    <td class={open ? 'cmd open' : 'cmd'} title={text ?? ''} aria-expanded={open} onClick={() => setOpen(!open)}>
      {text ?? '?'}
    </td>
  );
}
