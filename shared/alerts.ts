/**
 * Alerts as stored in IndexedDB and passed between tabs. The leader tab owns them (it evaluates
 * the rules, web/lib/alerts.ts); other tabs show what it broadcasts and send it their requests.
 */

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface Alert {
  /** `rule|ep|subject`: the storage key. */
  id: string;
  rule: string;
  ep: string;
  /** What on the endpoint: `host`, `gpu0`, `user`… */
  instance: string;
  label: string;
  state: AlertState;
  /** When the condition started holding (pending since). */
  since: number;
  /** When it last started firing; null if this key never fired. */
  start: number | null;
  /** When it last resolved; null while firing (or never fired). */
  end: number | null;
  value: number | null;
  /** Human detail: throttle reasons, XID code, ECC count. */
  detail: string | null;
  /** This alert alone is silenced until then (epoch ms). */
  silencedUntil: number | null;
  /** XID/ECC: when the last error was seen (the alert clears `forS` after it). */
  lastHit: number | null;
  /** XID: the newest event time handled; ECC: the count at the last hit. Stops a replayed event from firing twice. */
  mark: number | null;
}

/** Cross-tab messages about alerts (on the app's BroadcastChannel). */
export type AlertMsg =
  /** From the leader: every alert record, after a change. */
  | { type: 'alerts'; records: Alert[] }
  /** From any tab: the rules in IndexedDB changed (saved, deleted, enabled, silenced). */
  | { type: 'rules' }
  /** From any tab to the leader: silence one alert until a time (null lifts it). */
  | { type: 'silence-alert'; id: string; until: number | null };
