// ring.js — fixed-capacity ring buffer of timed samples (no DOM).
//
// The memory chart keeps the last few minutes of samples: one time (ms since
// the epoch) and `width` numeric values per sample (e.g. resident, heap in
// use, allocated).  Pushing onto a full ring drops the oldest sample.  Values
// may be NaN ("not known at that time", e.g. the allocation counters before
// the heap profiler runs); min/max skip them.

export class TimeRing {
  /**
   * @param {number} capacity  samples kept (>= 1)
   * @param {number} width     values per sample (>= 1)
   */
  constructor(capacity, width) {
    if (!(capacity >= 1) || !(width >= 1)) throw new RangeError('capacity and width must be >= 1');
    this.capacity = capacity | 0;
    this.width = width | 0;
    this.times = new Float64Array(this.capacity);
    this.values = new Float64Array(this.capacity * this.width);
    this.start = 0; // index of the oldest sample
    this.length = 0;
  }

  /** Append a sample; values shorter than width are padded with NaN. */
  push(time, values) {
    let slot;
    if (this.length < this.capacity) {
      slot = (this.start + this.length) % this.capacity;
      this.length++;
    } else {
      slot = this.start;
      this.start = (this.start + 1) % this.capacity;
    }
    this.times[slot] = time;
    const base = slot * this.width;
    for (let k = 0; k < this.width; k++) {
      const v = values[k];
      this.values[base + k] = typeof v === 'number' ? v : NaN;
    }
  }

  clear() {
    this.start = 0;
    this.length = 0;
  }

  slot(i) {
    return (this.start + i) % this.capacity;
  }

  /** Time of the i-th sample, 0 = oldest. */
  timeAt(i) {
    return this.times[this.slot(i)];
  }

  /** Value k of the i-th sample, 0 = oldest. */
  valueAt(i, k) {
    return this.values[this.slot(i) * this.width + k];
  }

  /** The newest sample as {time, values[]}, or null. */
  last() {
    if (!this.length) return null;
    return this.sample(this.length - 1);
  }

  sample(i) {
    const s = this.slot(i);
    return { time: this.times[s], values: Array.from(this.values.subarray(s * this.width, (s + 1) * this.width)) };
  }

  /** All samples oldest first: [{time, values[]}]. */
  toArray() {
    const out = [];
    for (let i = 0; i < this.length; i++) out.push(this.sample(i));
    return out;
  }

  /** {min, max} of value k over samples with time >= since (NaN skipped); null if none. */
  range(k, since = -Infinity) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < this.length; i++) {
      if (this.timeAt(i) < since) continue;
      const v = this.valueAt(i, k);
      if (Number.isNaN(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return min === Infinity ? null : { min, max };
  }

  /**
   * Index of the oldest sample whose time is >= t (binary search: times are
   * pushed in non-decreasing order); this.length when there is none.
   */
  indexAtOrAfter(t) {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.timeAt(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Change of value k over the last `ms` milliseconds: newest value minus
   * the value of the oldest sample at most `ms` old (NaN ones skipped).
   * Returns {delta, span} (span in ms actually covered) or null.
   */
  change(k, ms) {
    if (this.length < 2) return null;
    const lastI = this.length - 1;
    const now = this.timeAt(lastI);
    const vNow = this.valueAt(lastI, k);
    if (Number.isNaN(vNow)) return null;
    for (let i = this.indexAtOrAfter(now - ms); i < lastI; i++) {
      const v = this.valueAt(i, k);
      if (!Number.isNaN(v)) return { delta: vNow - v, span: now - this.timeAt(i) };
    }
    return null;
  }
}
