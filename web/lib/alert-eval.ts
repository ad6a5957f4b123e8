/**
 * What each rule sees in one sample of one endpoint: a list of (subject, observation). Pure: the
 * engine (web/lib/alerts.ts) feeds these to the lifecycle. Subjects are `host`, `gpu<N>` or the
 * first segment of a user key; a subject a rule no longer produces counts as "condition gone".
 */
import { clipText } from '../../shared/tab-messages.ts';
import type { Rule } from './alert-rules.ts';
import type { Observation } from './alert-lifecycle.ts';

export type Getter = (key: string) => number | null;

/** The parts of the stream's snapshot extras the health rules read (structural, so any store's type fits). */
export interface GpuHealth {
  index: number;
  throttle: readonly string[];
  lost: boolean;
  ecc_volatile?: { corrected: number | null; uncorrected: number | null } | null;
}

export interface Sample {
  keys: readonly string[];
  get: Getter;
  gpus: readonly GpuHealth[] | null;
}

export type Cond = { subject: string } & Observation;

/** GPU numbers among `keys`, found once per key list: a stream sends the same list (by identity) every frame, and gpu* rules ask every sample. */
const gpuNumbers = new WeakMap<readonly string[], string[]>();
function gpusOf(keys: readonly string[]): string[] {
  let g = gpuNumbers.get(keys);
  if (!g) gpuNumbers.set(keys, (g = [...new Set(keys.map((k) => /^gpu(\d+)\./.exec(k)?.[1]).filter((x): x is string => !!x))]));
  return g;
}

/** Instances a threshold metric covers on one endpoint, each with how to read its value. */
export function instances(metric: string, keys: readonly string[]): { instance: string; read: (g: Getter) => number | null }[] {
  const derive = (prefix: string) => (g: Getter) => {
    const u = g(prefix + 'mem.used'),
      t = g(prefix + 'mem.total');
    return u == null || !t ? null : (u / t) * 100;
  };
  if (metric.startsWith('gpu*.')) {
    const m = metric.slice(5);
    return gpusOf(keys).map((n) => ({ instance: `gpu${n}`, read: m === 'mem.pct' ? derive(`gpu${n}.`) : (g: Getter) => g(`gpu${n}.${m}`) }));
  }
  const pct = /^(host|gpu\d+)\.mem\.pct$/.exec(metric);
  if (pct) return [{ instance: pct[1]!, read: derive(`${pct[1]}.`) }];
  return [{ instance: metric.split('.')[0]!, read: (g) => g(metric) }];
}

/** The agent already leaves GpuIdle out of `throttle`; older agents or other sources may not. */
const IDLE = new Set(['gpu_idle', 'idle']);

/**
 * Conditions of a sample-driven rule, or null for rules driven by something else (XID events,
 * the silence clock). `ecc` compares with the previous uncorrected count per GPU in `eccSeen`
 * (the engine updates it once per sample, after every rule has looked).
 */
export function sampleConds(rule: Rule, s: Sample, eccSeen: Map<string, number>): Cond[] | null {
  // No snapshot yet: GPU health is unknown, which must not resolve an open health alert.
  if (!s.gpus && (rule.kind === 'throttle' || rule.kind === 'gpu_lost' || rule.kind === 'ecc')) return null;
  const gpus = s.gpus ?? [];
  switch (rule.kind) {
    case 'threshold':
      return instances(rule.metric, s.keys).map(({ instance, read }) => {
        const v = read(s.get);
        // No value (a gap, an unsupported field) is not a breach: the alert resolves rather than sticking.
        return { subject: instance, holds: v !== null && (rule.op === '>' ? v > rule.threshold : v < rule.threshold), value: v, detail: null };
      });
    case 'throttle':
      return gpus.map((g) => {
        const reasons = g.throttle.filter((r) => !IDLE.has(r));
        return { subject: `gpu${g.index}`, holds: reasons.length > 0, value: null, detail: reasons.length ? clipText(reasons.join(', ')) : null };
      });
    case 'gpu_lost':
      return gpus.map((g) => ({ subject: `gpu${g.index}`, holds: g.lost, value: null, detail: g.lost ? 'lost' : null }));
    case 'ecc':
      return gpus.flatMap((g) => {
        const n = g.ecc_volatile?.uncorrected;
        if (n == null) return [];
        const key = `gpu${g.index}`;
        const before = eccSeen.get(key);
        // The first count seen is the baseline: errors from before this tab started are not news.
        const hit = before !== undefined && n > before ? { mark: n } : null;
        return [{ subject: key, holds: false, value: n, detail: `${n} uncorrected`, hit }];
      });
    case 'xid':
    case 'silent':
      return null;
  }
}

/** An agent event as the stream delivers it: XIDs are `kind: 'xid'` with `scope: 'gpu<N>'` and the code in the label. */
export interface XidEvent {
  t: number;
  kind?: string;
  scope?: string;
  label: string;
}

/** The subject and code of an XID event, or null for any other event. */
export function xidOf(e: XidEvent): { subject: string; detail: string } | null {
  if (e.kind !== 'xid' || !e.scope || !/^gpu\d+$/.test(e.scope)) return null;
  const code = /XID (\d+)/.exec(e.label)?.[1];
  return { subject: e.scope, detail: code ? `XID ${code}` : e.label };
}
