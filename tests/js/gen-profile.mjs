// Seeded random profile generator shared by the node tests and flame-demo.html.

export function mulberry32(seed) {
  let a = seed >>> 0;
  return function rand() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['parse', 'hash', 'alloc', 'free', 'read', 'write', 'poll', 'lock', 'unlock', 'copy',
  'encode', 'decode', 'send', 'recv', 'sort', 'merge', 'walk', 'visit', 'flush', 'compress'];
const AREAS = ['http', 'json', 'tls', 'cache', 'db', 'fs', 'net', 'gc', 'log', 'sched', 'queue', 'tree'];

/**
 * Random profile in the lynxprof JSON format.
 * Stacks share prefixes (each new stack extends a prefix of an earlier one),
 * functions repeat (recursion, several parents), some values are zero.
 * @param {number} seed
 * @param {{stacks?: number, maxDepth?: number, functions?: number, zeroRate?: number, maxValue?: number}} o
 */
export function randomProfile(seed, o = {}) {
  const nStacks = o.stacks ?? 300;
  const maxDepth = o.maxDepth ?? 30;
  const nFun = o.functions ?? 60;
  const zeroRate = o.zeroRate ?? 0.05;
  const maxValue = o.maxValue ?? 1000;
  const rand = mulberry32(seed);
  const ri = (n) => Math.floor(rand() * n);
  const functions = ['main'];
  for (let i = 1; i < nFun; i++) functions.push(`${AREAS[ri(AREAS.length)]}_${WORDS[ri(WORDS.length)]}_${i}`);
  const stacks = [];
  const seen = new Set();
  let guard = 0;
  while (stacks.length < nStacks && guard++ < nStacks * 50) {
    let frames;
    if (stacks.length && rand() < 0.85) {
      const base = stacks[ri(stacks.length)][0];
      frames = base.slice(0, 1 + ri(base.length));
    } else {
      frames = rand() < 0.9 ? [0] : [];
    }
    const target = 1 + ri(maxDepth);
    while (frames.length < target) {
      const r = rand();
      if (r < 0.08 && frames.length) frames.push(frames[frames.length - 1]);          // direct recursion
      else if (r < 0.12 && frames.length > 2) frames.push(frames[ri(frames.length)]);  // indirect recursion
      else frames.push(1 + ri(nFun - 1));
    }
    if (frames.length > maxDepth) frames.length = maxDepth;
    const key = frames.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    const samples = rand() < zeroRate ? 0 : 1 + ri(maxValue);
    const alt = rand() < zeroRate ? 0 : ri(maxValue * 1000);
    stacks.push([frames, [samples, samples * 10_000_000, alt]]);
  }
  return {
    type: 'cpu',
    sample_types: [
      { type: 'samples', unit: 'count' },
      { type: 'cpu', unit: 'nanoseconds' },
      { type: 'alloc_space', unit: 'bytes' },
    ],
    default_sample_type: 1,
    functions,
    stacks,
  };
}
