/**
 * Fallback when NVML cannot be loaded: one long-lived `nvidia-smi … -lms <interval>` read line by
 * line (not a process per tick), restarted with backoff if it dies; compute apps at a slower cadence.
 */
import { G, GPU_WIDTH } from '../../shared/catalog.ts';
import type { DeviceInfo } from '../../shared/wire.ts';
import type { ProcessUtil } from '../../shared/nvml-messages.ts';
import { withUtil } from './nvml/provider.ts';
import { decodeThrottle, emptyExtras, type GpuExtras, type GpuProvider, type GpuReading, type ProviderEvent } from './provider.ts';

/** The query's columns, in order (`--query-gpu`). */
export const FIELDS = [
  'index',
  'uuid',
  'utilization.gpu',
  'utilization.memory',
  'memory.used',
  'memory.total',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'fan.speed',
  'clocks.sm',
  'clocks.mem',
  'utilization.encoder',
  'utilization.decoder',
  'pstate',
  'clocks_event_reasons.active',
];
/** Older drivers reject unknown fields for the whole query; this subset is in every R450+ driver. */
const BASIC = FIELDS.slice(0, 12);

/** `[N/A]`, `[Not Supported]`, `[Insufficient Permissions]`, bare `N/A`, empty → NaN. */
export function smiNumber(s: string | undefined): number {
  if (s === undefined) return NaN;
  const t = s.trim();
  if (!t || t.startsWith('[') || /^n\/a$/i.test(t)) return NaN;
  const v = Number(t);
  return Number.isFinite(v) ? v : NaN;
}

/** One CSV row (noheader, nounits) → the device's value block and state; returns the row's UUID. */
export function parseSmiRow(line: string, fields: readonly string[], out: Float64Array, o: number, st: GpuExtras): string {
  const f = line.split(', ');
  const get = (name: string) => {
    const i = fields.indexOf(name);
    return i < 0 ? undefined : f[i];
  };
  const MiB = 1048576;
  out[o + G.util] = smiNumber(get('utilization.gpu'));
  out[o + G['mem_bw.util']] = smiNumber(get('utilization.memory'));
  out[o + G['mem.used']] = smiNumber(get('memory.used')) * MiB;
  out[o + G['mem.total']] = smiNumber(get('memory.total')) * MiB;
  out[o + G.temp] = smiNumber(get('temperature.gpu'));
  out[o + G.power] = smiNumber(get('power.draw'));
  out[o + G['power.limit']] = smiNumber(get('power.limit'));
  out[o + G.fan] = smiNumber(get('fan.speed'));
  out[o + G['clock.sm']] = smiNumber(get('clocks.sm'));
  out[o + G['clock.mem']] = smiNumber(get('clocks.mem'));
  out[o + G['enc.util']] = smiNumber(get('utilization.encoder'));
  out[o + G['dec.util']] = smiNumber(get('utilization.decoder'));
  const ps = get('pstate')?.trim();
  st.pstate = ps && /^P\d+$/.test(ps) ? ps : null;
  const mask = get('clocks_event_reasons.active')?.trim();
  st.throttle = mask && /^0x[0-9a-f]+$/i.test(mask) ? decodeThrottle(BigInt(mask)) : [];
  return (get('uuid') ?? '').trim();
}

/**
 * `nvidia-smi pmon -c 1 -s u` → per GPU index, each process's SM and memory utilization. Columns
 * are found by the header (`# gpu pid type sm mem …`), which differs between drivers. `-` (no
 * sample this period) is 0 %, as NVML's per-process call says by leaving the process out; anything
 * else that is not a percentage is null (unknown). Rows with a pid of `-` (a GPU with no process)
 * are skipped. No header row: null (an output this parser does not know, where every process
 * would otherwise read 0 %).
 */
export function parsePmon(text: string): Map<number, ProcessUtil[]> | null {
  const out = new Map<number, ProcessUtil[]>();
  let cols: string[] | null = null;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (line.trimStart().startsWith('#')) {
      if (!cols && f[1] === 'gpu') cols = f.slice(1);
      continue;
    }
    if (!cols || f.length < cols.length - 1) continue;
    const at = (name: string) => {
      const i = cols!.indexOf(name);
      return i < 0 ? undefined : f[i];
    };
    const gpu = Number(at('gpu')),
      pid = Number(at('pid'));
    if (!Number.isInteger(gpu) || !Number.isInteger(pid) || pid <= 0) continue;
    const pct = (s: string | undefined) => {
      // `-`: no sample for the process this period, which NVML reports by leaving it out: idle.
      if (s === '-') return 0;
      const v = smiNumber(s);
      return Number.isFinite(v) && v >= 0 && v <= 100 ? v : null;
    };
    const list = out.get(gpu) ?? [];
    list.push({ pid, sm: pct(at('sm')), mem: pct(at('mem')) });
    out.set(gpu, list);
  }
  return cols ? out : null;
}

/** One `nvidia-smi pmon` sample: per GPU index, each process's utilization; null when nvidia-smi or its pmon is unavailable, or its output has no header. */
export const readPmon = (): Promise<Map<number, ProcessUtil[]> | null> => run(['pmon', '-c', '1', '-s', 'u'], 5000).then(parsePmon, () => null);

async function run(args: string[], timeoutMs: number): Promise<string> {
  const p = Bun.spawn(['nvidia-smi', ...args], { stdout: 'pipe', stderr: 'pipe', env: process.env });
  const timer = setTimeout(() => p.kill(), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error((out + err).trim().split('\n')[0] || `nvidia-smi exited ${code}`);
  return out;
}

export async function openNvidiaSmi(opts: { intervalMs: number; appsEveryMs?: number; hangMs?: number }): Promise<GpuProvider> {
  if (!Bun.which('nvidia-smi', { PATH: process.env.PATH ?? '' })) throw new Error('nvidia-smi not found on PATH');
  const list = await run(['--query-gpu=index,name,uuid,memory.total,pci.bus_id', '--format=csv,noheader,nounits'], 10_000);
  const devices: DeviceInfo[] = list
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [index, name, uuid, mem, bus] = l.split(', ');
      return {
        index: Number(index),
        name: name?.trim() ?? '?',
        uuid: uuid?.trim() ?? '',
        memory_total: smiNumber(mem) * 1048576 || null,
        provider: 'nvidia-smi',
        pci_bus_id: bus?.trim() ?? null,
      };
    });
  let fields: readonly string[] = FIELDS;
  try {
    await run([`--query-gpu=${FIELDS.join(',')}`, '--format=csv,noheader,nounits'], 10_000);
  } catch {
    fields = BASIC;
  }
  return new SmiProvider(
    devices,
    fields,
    opts.intervalMs,
    opts.appsEveryMs ?? Math.max(5000, opts.intervalMs),
    opts.hangMs ?? Math.max(10_000, 5 * opts.intervalMs),
  );
}

class SmiProvider implements GpuProvider {
  readonly kind = 'nvidia-smi' as const;
  readonly driverVersion = null;
  readonly cudaVersion = null;
  #values: Float64Array;
  #extras: GpuExtras[];
  #lastLineAt = 0;
  #startedAt = 0;
  #proc: ReturnType<typeof Bun.spawn> | null = null;
  #closed = false;
  #backoff = 1000;
  #events: ProviderEvent[] = [];
  #appsTimer: ReturnType<typeof setInterval>;
  restarts = 0;

  constructor(
    readonly devices: DeviceInfo[],
    readonly fields: readonly string[],
    readonly intervalMs: number,
    appsEveryMs: number,
    readonly hangMs: number,
  ) {
    this.#values = new Float64Array(devices.length * GPU_WIDTH).fill(NaN);
    this.#extras = devices.map(() => emptyExtras());
    this.#start();
    this.#appsTimer = setInterval(() => void this.#apps(), appsEveryMs);
    void this.#apps();
  }

  #start() {
    if (this.#closed) return;
    const p = Bun.spawn(['nvidia-smi', `--query-gpu=${this.fields.join(',')}`, '--format=csv,noheader,nounits', `-lms`, String(this.intervalMs)], {
      stdout: 'pipe',
      stderr: 'ignore',
      env: process.env,
    });
    this.#proc = p;
    this.#startedAt = Date.now();
    void this.#readLines(p.stdout as ReadableStream<Uint8Array>);
    p.exited.then((code) => {
      if (this.#closed) return;
      this.restarts++;
      this.#events.push({ kind: 'provider_error', message: `nvidia-smi exited (${code}); restarting in ${this.#backoff / 1000}s` });
      setTimeout(() => this.#start(), this.#backoff);
      this.#backoff = Math.min(60_000, this.#backoff * 2);
    });
  }

  async #readLines(stream: ReadableStream<Uint8Array>) {
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of stream) {
      buf += dec.decode(chunk, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        const idx = Number(line.split(', ')[0]);
        const i = this.devices.findIndex((d) => d.index === idx);
        if (i < 0) continue;
        parseSmiRow(line, this.fields, this.#values, i * GPU_WIDTH, this.#extras[i]!);
        this.#lastLineAt = Date.now();
        this.#backoff = 1000;
      }
    }
  }

  async #apps() {
    try {
      const out = await run(['--query-compute-apps=gpu_uuid,pid,used_memory', '--format=csv,noheader,nounits'], 5000);
      const byUuid = new Map<string, GpuExtras['processes']>();
      for (const line of out.split('\n')) {
        const f = line.split(', ');
        if (f.length < 3) continue;
        const pid = Number(f[1]);
        if (!Number.isInteger(pid) || pid <= 0) continue;
        const mem = smiNumber(f[f.length - 1]);
        const list = byUuid.get(f[0]!.trim()) ?? [];
        list.push({ pid, gpu_mem: Number.isFinite(mem) ? mem * 1048576 : null, type: 'compute' });
        byUuid.set(f[0]!.trim(), list);
      }
      // Per-process utilization, when this nvidia-smi has pmon (null = unknown, not 0).
      const util = await readPmon();
      this.devices.forEach((d, i) => {
        this.#extras[i]!.processes = withUtil(byUuid.get(d.uuid) ?? [], util ? (util.get(d.index) ?? []) : null);
      });
    } catch {
      /* keep the previous list; the stream's health is what counts */
    }
  }

  async read(): Promise<GpuReading> {
    // Data older than three intervals is not current: report it as missing, not as the last value.
    const silentMs = Date.now() - Math.max(this.#lastLineAt, this.#startedAt);
    if (Date.now() - this.#lastLineAt > 3 * this.intervalMs + 1000) {
      // A hung nvidia-smi never exits by itself: kill it and let the restart path take over.
      if (silentMs > this.hangMs) this.#proc?.kill();
      throw new Error('nvidia-smi has produced no sample recently');
    }
    return { values: this.#values.slice(), extras: this.#extras.map((x) => ({ ...x })) };
  }

  drainEvents() {
    return this.#events.splice(0);
  }
  close() {
    this.#closed = true;
    clearInterval(this.#appsTimer);
    this.#proc?.kill();
  }
}
