/** Space per filesystem, like df: a bar per mount (used of used + available to users), asked again every 30 s while live. */
import { fmtUnit } from '../../shared/format.ts';
import { readDiskSpace } from '../lib/disk-space.ts';
import type { EpState } from '../lib/state.ts';
import { Bar, COLORS, useAnswer } from './bits.tsx';

export function DiskSpace({ s, refresh }: { s: EpState; refresh: number }) {
  const { value: disks, err } = useAnswer(s.ep.readOnly ? null : () => readDiskSpace(s.ep), [s.ep.id, refresh]);
  if (s.ep.readOnly || (!disks?.length && !err)) return null;
  return (
    <figure class="chart disk-space" data-group="disk_space" data-unit="B">
      <figcaption>
        Host · Disk space <small class="unit muted">(bytes, now)</small>
        {err && <span class="warn small"> · {err}</span>}
      </figcaption>
      {disks?.map((d) => (
        <Bar
          label={d.mount}
          title={`${d.mount} (${d.device}, ${d.fstype}): ${fmtUnit(d.used, 'B')} used, ${fmtUnit(d.avail, 'B')} available`}
          value={d.used}
          max={d.used + d.avail}
          color={COLORS.mem}
          text={`${fmtUnit(d.used, 'B')} / ${fmtUnit(d.total, 'B')} · ${fmtUnit(d.percent, '%', { digits: 0 })}`}
        />
      ))}
    </figure>
  );
}
