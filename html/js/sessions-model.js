// sessions-model.js — the sessions table as data (no DOM).
//
// Input: the server's session status objects (GET cpu/sessions), newest
// first.  A record may lack fields (older servers, a failed session): the
// model never throws on a missing field — the Go page this replaces broke its
// whole list on a session without "type".

import { formatBytes, formatClock, formatCount, formatDuration, parseDuration, toSeconds } from './format.js';

export const STATES = ['running', 'completed', 'cancelled', 'failed'];

/** State of a status object: status if known, else derived from done. */
export function sessionState(s) {
  if (s && STATES.includes(s.status)) return s.status;
  if (s && s.done === false) return 'running';
  if (s && s.error) return 'failed';
  return s && s.done ? 'completed' : 'unknown';
}

/** True when the session's profile can be downloaded / drawn. */
export function hasProfile(s) {
  const st = sessionState(s);
  if (st !== 'completed' && st !== 'cancelled') return false;
  if (typeof s.data_size === 'number') return s.data_size > 0;
  // no size reported: a finished session with samples (or unknown samples) has data
  return !(typeof s.samples === 'number' && s.samples === 0);
}

function durationText(d) {
  if (typeof d === 'string') {
    const r = parseDuration(d);
    return 'ns' in r ? formatDuration(r.ns) : d;
  }
  if (typeof d === 'number') return formatDuration(d * 1e9);
  return '';
}

/**
 * Rows for the table.  Each row:
 *   {id, type, target, state, started, startedTitle, duration, samples,
 *    size, error, progress, canFlame, canDownload, canStop, canDelete, canCompare}
 * @param {object[]} sessions  status objects
 * @param {Date} [now]         for the "started" clock text
 */
export function sessionRows(sessions, now = new Date()) {
  const list = Array.isArray(sessions) ? sessions.filter((s) => s && typeof s.session_id === 'string') : [];
  const rows = list.map((s) => {
    const state = sessionState(s);
    const profile = hasProfile(s);
    return {
      id: s.session_id,
      type: typeof s.type === 'string' && s.type ? s.type : 'cpu',
      target: typeof s.target === 'string' ? s.target : '',
      state,
      started: formatClock(s.started_at, now),
      startedTitle: typeof s.started_at === 'string' ? s.started_at : '',
      startedMs: Date.parse(s.started_at) || 0,
      duration: durationText(s.duration),
      samples: typeof s.samples === 'number' ? formatCount(s.samples) : '',
      size: typeof s.data_size === 'number' && s.data_size >= 0 ? formatBytes(s.data_size) : '',
      error: typeof s.error === 'string' ? s.error : '',
      progress: state === 'running' && typeof s.progress === 'number' ? Math.max(0, Math.min(1, s.progress)) : null,
      elapsed: toSeconds(s.elapsed),
      canFlame: profile,
      canDownload: profile,
      canStop: state === 'running',
      canDelete: state !== 'running',
      canCompare: profile,
    };
  });
  // newest first, whatever order the server used; ties keep the server's order
  return rows.map((r, i) => [r, i]).sort((a, b) => (b[0].startedMs - a[0].startedMs) || (a[1] - b[1])).map((x) => x[0]);
}

/** The running session of a list (the newest if several), or null. */
export function runningSession(sessions) {
  const rows = sessionRows(sessions);
  const r = rows.find((x) => x.state === 'running');
  return r ? sessions.find((s) => s && s.session_id === r.id) : null;
}

/**
 * "Pick two to compare": at most two ids, in the order picked.  Picking a
 * third drops the oldest pick.  `prune` forgets ids that can no longer be
 * compared (deleted, or without profile).
 */
export class ComparePick {
  constructor() { this.ids = []; }

  has(id) { return this.ids.includes(id); }

  /** Toggle id; returns the new list. */
  toggle(id, on = !this.has(id)) {
    this.ids = this.ids.filter((x) => x !== id);
    if (on) {
      this.ids.push(id);
      if (this.ids.length > 2) this.ids.shift();
    }
    return this.ids.slice();
  }

  /** Keep only ids of rows that can be compared. */
  prune(rows) {
    const ok = new Set(rows.filter((r) => r.canCompare).map((r) => r.id));
    this.ids = this.ids.filter((x) => ok.has(x));
    return this.ids.slice();
  }

  clear() { this.ids = []; }

  /**
   * The two picked rows ordered in time: {before, after} (older first), or
   * null unless exactly two are picked and both are in rows.
   */
  pair(rows) {
    if (this.ids.length !== 2) return null;
    const a = rows.find((r) => r.id === this.ids[0]);
    const b = rows.find((r) => r.id === this.ids[1]);
    if (!a || !b) return null;
    if (a.startedMs < b.startedMs || (a.startedMs === b.startedMs && a.id < b.id)) return { before: a, after: b };
    return { before: b, after: a };
  }
}
