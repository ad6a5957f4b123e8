/**
 * The alert rule model. A threshold rule compares a catalog series (or a per-GPU wildcard, or a
 * derived memory percentage) with a number for a duration; a health rule watches something that
 * is not a number in the catalog: throttle reasons, XID events, ECC counters, lost GPUs, silence.
 * Rules live in IndexedDB's `alerts` store; rules saved before kinds existed are read by
 * `normalizeRule`, so an upgrade keeps them.
 */
import { formatDuration } from '../../shared/duration.ts';

export const HEALTH_KINDS = ['throttle', 'xid', 'ecc', 'gpu_lost', 'silent'] as const;
export type HealthKind = (typeof HEALTH_KINDS)[number];

interface RuleBase {
  id: string;
  /** One endpoint's id, or '*' for all. */
  ep: string;
  label: string;
  /**
   * Seconds. Threshold, throttle, GPU lost: how long the condition must hold before firing.
   * Silent: how long without a sample. XID, ECC: how long after the last error the alert clears.
   */
  forS: number;
  enabled: boolean;
  /** Epoch ms until which this rule's alerts notify nobody and leave the nav count; null = not silenced. */
  silencedUntil: number | null;
  /** When the rule was made (epoch ms): XID events older than the rule are not "new". */
  created: number;
}
export interface ThresholdRule extends RuleBase {
  kind: 'threshold';
  metric: string;
  op: '>' | '<';
  threshold: number;
}
export interface HealthRule extends RuleBase {
  kind: HealthKind;
}
export type Rule = ThresholdRule | HealthRule;

/** XID and ECC alerts fire on an event (no "for"); their duration is how long they stay open. */
export const isHitKind = (k: Rule['kind']): k is 'xid' | 'ecc' => k === 'xid' || k === 'ecc';

export const HEALTH_LABELS: Record<HealthKind, string> = {
  throttle: 'GPU throttling (any reason but idle)',
  xid: 'New XID error',
  ecc: 'ECC uncorrected errors increased',
  gpu_lost: 'GPU lost',
  silent: 'Host silent (no sample)',
};

const METRIC_RE = /^(host\.[\w.]+|gpu(\d+|\*)\.[\w.]+|user\.[\w.:-]+)$/;

export type Parsed = { ok: true; rule: Rule } | { ok: false; error: string };

/** Checks a rule from the form (or storage) field by field; the error names the field that is wrong. */
export function validateRule(input: unknown): Parsed {
  const r = input as Partial<Record<string, unknown>> | null;
  if (!r || typeof r !== 'object') return { ok: false, error: 'rule: not an object' };
  if (typeof r.id !== 'string' || !r.id) return { ok: false, error: 'id: missing' };
  if (typeof r.ep !== 'string' || !r.ep) return { ok: false, error: 'endpoint: choose one or all endpoints' };
  const kind = r.kind;
  if (kind !== 'threshold' && !HEALTH_KINDS.includes(kind as HealthKind))
    return { ok: false, error: `kind: "${String(kind)}" is not one of threshold, ${HEALTH_KINDS.join(', ')}` };
  if (typeof r.forS !== 'number' || !Number.isFinite(r.forS) || r.forS < 0 || r.forS > 7 * 86400) return { ok: false, error: 'for: a duration from 0s to 7d' };
  if (kind === 'silent' && r.forS < 1) return { ok: false, error: 'for: a host is silent after at least 1s' };
  if (isHitKind(kind as Rule['kind']) && r.forS < 1) return { ok: false, error: 'for: an XID/ECC alert stays open at least 1s' };
  if (r.silencedUntil != null && (typeof r.silencedUntil !== 'number' || !Number.isFinite(r.silencedUntil)))
    return { ok: false, error: 'silenced until: a time' };
  const base: RuleBase = {
    id: r.id,
    ep: r.ep,
    label: typeof r.label === 'string' ? r.label.trim().slice(0, 200) : '',
    forS: r.forS,
    enabled: r.enabled !== false,
    silencedUntil: (r.silencedUntil as number | null | undefined) ?? null,
    created: typeof r.created === 'number' ? r.created : 0,
  };
  if (kind !== 'threshold') {
    const rule: HealthRule = { ...base, kind: kind as HealthKind };
    return { ok: true, rule: { ...rule, label: rule.label || defaultLabel(rule) } };
  }
  if (typeof r.metric !== 'string' || !METRIC_RE.test(r.metric))
    return { ok: false, error: `metric: "${String(r.metric)}" is not a series key like gpu0.temp, gpu*.temp, host.cpu.util or user.loss` };
  if (r.op !== '>' && r.op !== '<') return { ok: false, error: 'comparison: > or <' };
  if (typeof r.threshold !== 'number' || !Number.isFinite(r.threshold)) return { ok: false, error: 'threshold: a number' };
  const rule: ThresholdRule = { ...base, kind: 'threshold', metric: r.metric, op: r.op, threshold: r.threshold };
  return { ok: true, rule: { ...rule, label: rule.label || defaultLabel(rule) } };
}

/** A stored rule in whatever shape an older gpulse wrote: kind-less rules were threshold rules, and `status.offline` meant silence. */
export function normalizeRule(stored: unknown): Rule | null {
  const s = stored as Record<string, unknown> | null;
  if (!s || typeof s !== 'object') return null;
  const kind = s.kind ?? (s.metric === 'status.offline' ? 'silent' : 'threshold');
  const p = validateRule({ ...s, kind, forS: kind === 'silent' ? Math.max(1, Number(s.forS)) : s.forS });
  return p.ok ? p.rule : null;
}

const fmtFor = (s: number) => (s ? formatDuration(s * 1000) : '0s');

export function defaultLabel(r: Rule): string {
  if (r.kind === 'threshold') return `${r.metric} ${r.op} ${r.threshold}${r.forS ? ` for ${fmtFor(r.forS)}` : ''}`;
  if (r.kind === 'silent') return `host silent for ${fmtFor(r.forS)}`;
  return HEALTH_LABELS[r.kind];
}

/** Whether the rule covers endpoint `ep` right now (disabled rules cover nothing). */
export const ruleApplies = (r: Rule, ep: string) => r.enabled && (r.ep === '*' || r.ep === ep);

/** What a rule checks, in a few words (the rules table). */
export function describeRule(r: Rule): string {
  switch (r.kind) {
    case 'threshold':
      return `${r.metric} ${r.op} ${r.threshold}, for ${fmtFor(r.forS)}`;
    case 'silent':
      return `no sample for ${fmtFor(r.forS)}`;
    case 'xid':
    case 'ecc':
      return `${HEALTH_LABELS[r.kind]}, open ${fmtFor(r.forS)} after the last one`;
    default:
      return `${HEALTH_LABELS[r.kind]}, for ${fmtFor(r.forS)}`;
  }
}
