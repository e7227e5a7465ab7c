// format.js — pure formatting and parsing helpers for the /profiling page
// (no DOM).  Durations follow Go's syntax, because the server speaks it
// ("30s", "1m30s", "5m0s"); sizes use binary units.

const UNIT_NS = {
  ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9,
};

/**
 * Parse a Go duration ("300ms", "1.5h", "2m30s", "-1s", "0").
 * @returns {{ns: number} | {error: string}}  whole nanoseconds (a finer
 *   fraction is truncated, as Go does).
 */
export function parseDuration(text) {
  const s0 = String(text == null ? '' : text).trim();
  const bad = { error: `Invalid duration: "${s0}"` };
  let s = s0;
  if (s === '') return bad;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return { ns: 0 };
  if (s === '') return bad;
  let total = 0;
  const re = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length) {
    const m = re.exec(s);
    if (!m || (m[1] === '' && !m[2])) return bad;
    const unit = UNIT_NS[m[3]];
    // whole and fraction apart, fraction truncated to whole ns as Go does
    total += Number(m[1] || 0) * unit;
    if (m[2]) total += Math.trunc(Number(m[2]) * unit / 10 ** m[2].length);
    s = s.slice(m[0].length);
  }
  return { ns: sign * total };
}

// Go's strconv-like trimming of a fixed fraction: "1.500" -> "1.5", "2.000" -> "2".
function trimFraction(str) {
  return str.includes('.') ? str.replace(/0+$/, '').replace(/\.$/, '') : str;
}

/**
 * Format nanoseconds the way Go's time.Duration.String does:
 * "0s", "300ms", "1.5µs", "30s", "1m0s", "2m30s", "1h0m0s", "1h2m3.5s".
 */
export function formatDuration(ns) {
  let d = Math.round(Number(ns));
  if (!Number.isFinite(d)) return String(ns);
  if (d === 0) return '0s';
  const neg = d < 0;
  if (neg) d = -d;
  let out;
  if (d < 1e3) out = d + 'ns';
  else if (d < 1e6) out = trimFraction((d / 1e3).toFixed(3)) + 'µs';
  else if (d < 1e9) out = trimFraction((d / 1e6).toFixed(6)) + 'ms';
  else {
    const h = Math.floor(d / 3600e9);
    const m = Math.floor((d - h * 3600e9) / 60e9);
    const sNs = d - h * 3600e9 - m * 60e9;
    const s = trimFraction((sNs / 1e9).toFixed(9)) + 's';
    out = h ? `${h}h${m}m${s}` : m ? `${m}m${s}` : s;
  }
  return (neg ? '-' : '') + out;
}

/** Seconds from a JSON value that is either a number of seconds or a Go duration string. */
export function toSeconds(v) {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN;
  if (typeof v === 'string') {
    const r = parseDuration(v);
    return 'ns' in r ? r.ns / 1e9 : NaN;
  }
  return NaN;
}

const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** "0 B", "512 B", "1.5 KiB", "12.3 MiB", "123 MiB"; 'n/a' for null/undefined/NaN. */
export function formatBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return 'n/a';
  let v = Number(n);
  const neg = v < 0;
  if (neg) v = -v;
  let i = 0;
  while (v >= 1024 && i < IEC.length - 1) { v /= 1024; i++; }
  const txt = i === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return (neg ? '-' : '') + txt + ' ' + IEC[i];
}

/** Signed change: "+1.50 MiB", "-12 B", "±0" for bytes; "+3", "-2", "±0" for counts. */
export function formatChange(delta, unit = 'bytes') {
  if (delta === null || delta === undefined || !Number.isFinite(delta)) return '';
  if (delta === 0) return '±0';
  const sign = delta > 0 ? '+' : '-';
  const a = Math.abs(delta);
  if (unit === 'bytes') return sign + formatBytes(a);
  if (unit === 'seconds') return sign + formatSecondsShort(a);
  return sign + formatCount(a);
}

/** Integer with thousands separators (thin spaces would be nicer; commas are unambiguous). */
export function formatCount(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return 'n/a';
  const v = Number(n);
  if (!Number.isInteger(v)) return v.toFixed(2);
  return v.toLocaleString('en-US');
}

/** Short seconds for progress text: "0.4 s", "12.3 s", "2 m 05 s", "1 h 02 m". */
export function formatSecondsShort(sec) {
  if (!Number.isFinite(sec)) return '–';
  const s = Math.max(0, sec);
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) {
    const m = Math.floor(s / 60);
    return `${m} m ${String(Math.floor(s - m * 60)).padStart(2, '0')} s`;
  }
  const h = Math.floor(s / 3600);
  return `${h} h ${String(Math.floor((s - h * 3600) / 60)).padStart(2, '0')} m`;
}

/** Uptime: "42s", "5m 12s", "2h 05m", "3d 4h". */
export function formatUptime(sec) {
  if (!Number.isFinite(sec) || sec < 0) return '–';
  const s = Math.floor(sec);
  if (s < 60) return s + 's';
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

function pad2(n) { return String(n).padStart(2, '0'); }

/**
 * Local clock time of an RFC 3339 timestamp: "14:03:22" when it is on the
 * same local day as `now`, else "2024-11-28 14:03".  '' when unparsable.
 */
export function formatClock(iso, now = new Date()) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '';
  const time = `${pad2(t.getHours())}:${pad2(t.getMinutes())}`;
  const sameDay = t.getFullYear() === now.getFullYear() && t.getMonth() === now.getMonth() &&
    t.getDate() === now.getDate();
  if (sameDay) return `${time}:${pad2(t.getSeconds())}`;
  return `${t.getFullYear()}-${pad2(t.getMonth() + 1)}-${pad2(t.getDate())} ${time}`;
}

/** Filename from a Content-Disposition header, or null. */
export function dispositionFilename(header) {
  if (!header) return null;
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(header);
  if (star) {
    try { return decodeURIComponent(star[1].trim().replace(/^"|"$/g, '')); } catch (e) { /* fall through */ }
  }
  const m = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(header);
  if (!m) return null;
  const name = (m[2] !== undefined ? m[2] : m[1]).trim();
  // never let a server-supplied name climb directories
  return name.replace(/[/\\]/g, '_') || null;
}
