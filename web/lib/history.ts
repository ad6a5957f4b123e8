/**
 * Keeps one endpoint's IndexedDB history in step with its agent (in the leader tab): where the
 * stream resumes, backfills as chunks (the recent hour first, the rest queued and remembered in
 * `meta`), live writes, rollup folds, and the quota. All of one endpoint's jobs run one at a time
 * (a per-endpoint queue), so a fold never races the write or backfill it follows.
 */
import { rawWindowMs, windowStart } from '../../shared/chunk/windows.ts';
import { validateInfo } from '../../shared/validate.ts';
import type { Info, Schema } from '../../shared/wire.ts';
import { agentFetch } from './agent-api.ts';
import { fetchChunks, frameRecords, planBackfill, splitRecent, storeRecords, type BackfillJob, type BackfillPlan } from './backfill.ts';
import { lastTime, type DB, type Endpoint, type Tier } from './db.ts';
import { HttpError, ProtocolError } from './live.ts';
import { decodeRun, type Run } from './records.ts';
import { isQuotaError, withQuotaRelief, type Retention } from './retention.ts';
import { advanceWatermark, foldKey, foldRollups } from './rollup.ts';
import { joinRuns, seriesRows } from './series.ts';
import type { ChunkWriter } from './writer.ts';

/** A gap longer than this many rows is backfilled as chunks instead of replayed as stream rows. */
const REPLAY_MAX_ROWS = 900;
/** Rows of the recent hour handed to the display tail. */
const TAIL_ROWS = 3600;
/** How long a primed /v1/info answer stands in for asking the agent. */
const INFO_FRESH_MS = 10_000;
export const backfillKey = (id: string) => `backfill:${id}`;

/** What the sync needs from the app (AppState implements it). */
export interface SyncHost {
  readonly db: DB;
  endpoint(id: string): { ep: Endpoint; schema: Schema | null; keys: string[] } | undefined;
  writer(id: string): ChunkWriter | undefined;
  retentionFor(id: string): Retention;
  /** Stored history changed other than by live rows: views re-read. */
  stored(id: string): void;
  /** The agent's catalog, known from /v1/info before the stream's schema event. */
  schema(id: string, schema: Schema): void;
  /** Rows for the display tail (the backfill's recent hour). */
  rows(id: string, keys: string[], rows: (number | null)[][]): void;
  notice: string | null;
  emit(): void;
}

type SavedJob = BackfillJob & { interval: number; t0: number };

/**
 * Resolves after the next frame is painted; at once outside a page or in a hidden tab (no frame
 * comes), and after 100 ms at the latest (a tab hidden meanwhile).
 */
function afterPaint(): Promise<void> {
  if (typeof requestAnimationFrame === 'undefined' || typeof document === 'undefined' || document.hidden) return Promise.resolve();
  return new Promise((r) => {
    setTimeout(r, 100);
    requestAnimationFrame(() => setTimeout(r, 0));
  });
}

export class HistorySync {
  #queues = new Map<string, Promise<unknown>>();

  /** /v1/info answers just read by the pairing or Add check, by agent URL and the token that read it: the first resume uses one instead of asking again. */
  #infos = new Map<string, { token: string; info: unknown; at: number }>();

  /** `now`: the clock that decides whether a primed /v1/info is still fresh. */
  constructor(
    readonly host: SyncHost,
    readonly now: () => number = Date.now,
  ) {}

  /**
   * An agent's /v1/info, just read with `token` (pairing, Add form) for an endpoint just added: its
   * first connection need not ask again. Answers nobody took (another tab leads) go once stale.
   */
  primeInfo(url: string, token: string, info: unknown) {
    const now = this.now();
    for (const [u, h] of this.#infos) if (now - h.at >= INFO_FRESH_MS) this.#infos.delete(u);
    this.#infos.set(url, { token, info, at: now });
  }

  /** A primed /v1/info, once, while fresh (the catalog or the newest sample may move on), and only for the token that read it. */
  #takeInfo(url: string, token: string): unknown {
    const h = this.#infos.get(url);
    this.#infos.delete(url);
    return h && h.token === token && this.now() - h.at < INFO_FRESH_MS ? h.info : undefined;
  }

  get #db() {
    return this.host.db;
  }

  /** Runs `fn` after every earlier queued job of endpoint `id` (whether that one failed or not). */
  serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.#queues.get(id) ?? Promise.resolve()).then(fn, fn);
    this.#queues.set(
      id,
      next.catch(() => {}),
    );
    return next;
  }

  /**
   * Where the stream resumes: after what is stored, or after what this tab's writer holds (never
   * after the display tail: a follower that takes over has rows there the old leader never
   * stored). On first contact, or after a gap too long to replay as stream rows, history is
   * backfilled as chunks: the most recent hour before the stream starts, the rest queued behind it
   * (and kept in `meta` until done, so a reload finishes it). null = an agent without chunk
   * history: the stream client falls back to its JSON backfill.
   */
  resume(id: string): Promise<number | null> {
    return this.serial(id, () => this.#resume(id));
  }

  async #resume(id: string): Promise<number | null> {
    const s = this.host.endpoint(id);
    const hinted = s ? this.#takeInfo(s.ep.url, s.ep.token) : undefined;
    // Everything local at once (each IDB request is a round trip to the browser process), and the agent's info alongside.
    const [stored, e1m, e1h, w, pending, r] = await Promise.all([
      lastTime(this.#db, id, 'raw'),
      lastTime(this.#db, id, '1m'),
      lastTime(this.#db, id, '1h'),
      this.#db.get('meta', foldKey(id)) as Promise<number | undefined>,
      this.#db.get('meta', backfillKey(id)) as Promise<SavedJob | undefined>,
      s && !hinted ? agentFetch(s.ep, '/v1/info') : null,
    ]);
    const held = this.host.writer(id)?.lastT ?? null;
    const t = held !== null && (stored === null || held > stored) ? held : stored;
    if (!s || (!r && !hinted)) return t;
    if (r?.status === 401) throw new HttpError(401, 'unauthorized');
    if (r && !r.ok) throw new HttpError(r.status, r.statusText);
    const checked = validateInfo(hinted ?? (await r!.json().catch(() => undefined)));
    if (!checked.ok) throw new ProtocolError(`agent sent a malformed /v1/info: ${checked.reason}`);
    const info = checked.value;
    // The catalog is known now, before the stream's schema event: views can lay out their charts.
    if (!s.schema) this.host.schema(id, schemaOf(info));
    const raw = Array.isArray(info.tiers) ? info.tiers.find((x) => x.tier === 'raw') : undefined;
    if (!raw) return t;
    const interval = info.interval_ms && info.interval_ms > 0 ? info.interval_ms : 1000;
    if (t !== null && (raw.newest == null || raw.newest - t <= REPLAY_MAX_ROWS * interval)) {
      if (pending) this.#queueLater(id);
      return t;
    }
    const t0 = performance.now();
    const localEnd = { raw: stored, '1m': e1m, '1h': e1h };
    // After a gap, rollups from the fold watermark on: the agent's then replace folding them here.
    const from = { raw: t, '1m': t === null ? null : (w ?? t), '1h': t === null ? null : (w ?? t) };
    const job = splitRecent(planBackfill(info.tiers!, from, this.host.retentionFor(id)), rawWindowMs(interval), localEnd);
    // An earlier backfill's unfinished part (the tab closed meanwhile) is still owed.
    if (pending) job.later.push(...pending.later);
    // Kept until the queued part is done: a tab closed before then finishes it on its next start.
    const saved = this.#db.put('meta', { ...job, interval, t0: Date.now() } satisfies SavedJob, backfillKey(id));
    let newest: number | null = null;
    try {
      if (job.recent) newest = await this.#backfillPlan(id, job.recent, job.localEnd, interval, true);
      await saved;
    } catch (e) {
      // No room even after pruning this endpoint's oldest data: go live without the history.
      if (!isQuotaError(e)) throw e;
      await this.#db.delete('meta', backfillKey(id)).catch(() => {});
      this.storageFull(id, 'history from the agent not stored');
      return raw.newest ?? t ?? 0;
    }
    performance.mark(`gpulse:backfill-recent:${Math.round(performance.now() - t0)}`);
    this.#queueLater(id);
    return newest ?? t ?? raw.newest ?? 0;
  }

  #queueLater(id: string) {
    void this.serial(id, () => this.#backfillLater(id)).catch((e) => console.warn('gpulse: backfill paused (resumed on the next connection)', e));
  }

  /** The queued part of a backfill (rollups, older raw), then folding whatever it did not cover. */
  async #backfillLater(id: string) {
    const job = (await this.#db.get('meta', backfillKey(id))) as SavedJob | undefined;
    if (!job) return;
    let plans = 0;
    try {
      while (job.later.length) {
        await this.#backfillPlan(id, job.later[0]!, job.localEnd, job.interval);
        plans++;
        job.later.shift();
        await this.#db.put('meta', job, backfillKey(id));
      }
    } catch (e) {
      if (!isQuotaError(e)) throw e; // network: kept in meta, retried on the next connect
      this.storageFull(id, 'older history from the agent not stored');
    }
    await this.#db.delete('meta', backfillKey(id));
    const last = await lastTime(this.#db, id, 'raw');
    if (last !== null) await this.#fold(id, windowStart('raw', last, job.interval));
    performance.mark(`gpulse:backfill:${plans}:${Date.now() - job.t0}`);
  }

  /** One tier's range: fetched, every frame checked, stored as received. Returns the newest raw time stored. */
  async #backfillPlan(id: string, p: BackfillPlan, localEnd: Record<Tier, number | null>, interval: number, preview = false): Promise<number | null> {
    const s = this.host.endpoint(id);
    if (!s) return null;
    const f = frameRecords(id, await fetchChunks(s.ep.url, s.ep.token, p), p.tier);
    performance.mark(`gpulse:fetched:${p.tier}:${f.bytes}`);
    if (f.bad.length) {
      console.warn(`gpulse: ${f.bad.length} bad history chunk(s) from ${s.ep.name} skipped:`, f.bad.slice(0, 5));
      this.host.notice = `${f.bad.length} damaged history chunk(s) from ${s.ep.name} were skipped (not stored).`;
      this.host.emit();
    }
    // The recent hour also goes to the display tail at once: live views draw it from memory while it is stored.
    if (preview && f.records.length) {
      const keys = s.keys.length ? s.keys : [...new Set(f.records.map((r) => r.key))];
      const runs = new Map<string, Run>();
      for (const k of keys) runs.set(k, decodeRun(f.records.filter((r) => r.key === k)));
      const rows = seriesRows(joinRuns(runs, keys, -Infinity, Infinity, false), keys);
      if (rows.length) this.host.rows(id, keys, rows.slice(-TAIL_ROWS));
      // The views draw that hour before the puts below (their structured clones) take the main thread.
      await afterPaint();
    }
    // Newest windows first: the part of the range a view opens on is readable first.
    if (p.tier === 'raw') f.records.reverse();
    await this.withQuota(id, () => storeRecords(this.#db, f.records, localEnd));
    performance.mark(`gpulse:stored:${p.tier}:${f.records.length}`);
    let newest: number | null = null;
    if (p.tier === 'raw') {
      for (const r of f.records) if (newest === null || r.t1 > newest) newest = r.t1;
      if (newest !== null) this.host.writer(id)?.markForeign(newest);
    } else if (p.tier === '1m' && f.records.length) {
      // The agent folded its raw rows up to its newest 1-minute bucket (per series: the least of them).
      const last = new Map<string, number>();
      let first = Infinity;
      for (const r of f.records) {
        last.set(r.key, Math.max(last.get(r.key) ?? -Infinity, r.t1));
        first = Math.min(first, r.t0);
      }
      await advanceWatermark(this.#db, id, windowStart('raw', Math.min(...last.values()), interval), first);
    }
    this.host.stored(id);
    return newest;
  }

  /**
   * One endpoint's live writes (closed windows whole, and with `segments` the open windows' new
   * rows); a closed raw window is folded into the rollups right after it is written.
   */
  flush(id: string, w: ChunkWriter, segments: boolean): Promise<void> {
    return this.serial(id, async () => {
      const r = await this.withQuota(id, () => w.flush(this.#db, segments));
      const h = w.foldHorizon;
      if (r.closed && h !== null) await this.#fold(id, h);
    }).catch((e) => {
      if (!isQuotaError(e)) {
        console.warn('gpulse: flush failed', e);
        return;
      }
      // Full even with nothing of this endpoint left to prune: keep memory bounded, keep showing live data.
      this.storageFull(id, `${w.discardClosed()} row(s) not saved`);
    });
  }

  /** Rows that are all there will be (an import): written through the live writer's path, every window closed, folded. */
  writeAll(id: string, w: ChunkWriter): Promise<void> {
    return this.serial(id, async () => {
      w.closeAll();
      const t0 = performance.now();
      await this.withQuota(id, () => w.flush(this.#db));
      const t1 = performance.now();
      await this.#fold(id, Infinity);
      performance.mark(`gpulse:import:write ${Math.round(t1 - t0)}:fold ${Math.round(performance.now() - t1)}`);
    });
  }

  /**
   * Folds everything stored and not folded yet (a previous leader's closed windows, an interrupted
   * import): up to the window holding the newest raw row (still open), or all of it when read-only.
   */
  foldStored(id: string, interval: number, readOnly: boolean): Promise<void> {
    return this.serial(id, async () => {
      const last = await lastTime(this.#db, id, 'raw');
      if (last === null) return;
      await this.#fold(id, windowStart('raw', last, interval) + (readOnly ? rawWindowMs(interval) : 0));
    }).catch((e) => console.warn('gpulse: fold failed', e));
  }

  async #fold(id: string, horizon: number) {
    await this.withQuota(id, () => foldRollups(this.#db, id, horizon));
  }

  /** A write that, on QuotaExceededError, prunes the oldest data (raw, then 1m) of the endpoint most over its share (or this one's), says so, and retries. */
  withQuota<T>(id: string, write: () => Promise<T>): Promise<T> {
    return withQuotaRelief(this.#db, id, write, (p) => {
      const name = this.host.endpoint(p.ep)?.ep.name ?? p.ep;
      this.host.notice = `Browser storage is full: removed ${p.records} oldest ${p.tier} chunk(s) of ${name}. Shorten retention in Settings to keep more.`;
      this.host.stored(p.ep);
      this.host.emit();
    });
  }

  /** Storage stayed full after pruning: said after what was pruned (the notice keeps both). */
  storageFull(id: string, what: string) {
    const name = this.host.endpoint(id)?.ep.name ?? id;
    const n = this.host.notice;
    const pruned = n?.startsWith('Browser storage is full: removed') ? n.replace(/\. Shorten retention.*$/, '') : null;
    this.host.notice = `${pruned ? `${pruned}; ` : 'Browser storage is full: '}${what} for ${name}. Free space, or shorten retention in Settings.`;
    this.host.emit();
  }
}

/**
 * The stream's schema fields out of /v1/info (which has more: status, storage, tiers …). Not checked
 * again: validateInfo checked every schema field (shared/validate.ts builds it from the schema's shape).
 */
function schemaOf(info: Info): Schema {
  const { version, hostname, interval_ms, retention_s, capacity, provider, driver_version, cuda_version, host, devices, series } = info;
  return { version, hostname, interval_ms, retention_s, capacity, provider, driver_version, cuda_version, host, devices, series };
}
