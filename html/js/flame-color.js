// flame-color.js — pure colour helpers for the flame graph (no DOM).

/** 32-bit FNV-1a hash of a string. */
export function hashName(name) {
  let h = 0x811c9dc5;
  const s = String(name);
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche so that similar names get different colours
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * Deterministic warm colour (red/orange/yellow) for a function name, light
 * enough for dark label text in both light and dark page themes.
 * @returns {[number, number, number]} rgb 0..255
 */
export function warmRGB(name) {
  const h = hashName(name);
  const v1 = (h & 0xff) / 255;
  const v2 = ((h >>> 8) & 0xff) / 255;
  const v3 = ((h >>> 16) & 0xff) / 255;
  return [205 + Math.round(50 * v3), 90 + Math.round(140 * v1), Math.round(60 * v2)];
}

export function warmColor(name) {
  const [r, g, b] = warmRGB(name);
  return `rgb(${r},${g},${b})`;
}

const NEUTRAL = [228, 228, 228];
const RED = [228, 52, 44];
const BLUE = [64, 118, 232];

/**
 * Diff colour: red when the share grew, blue when it shrank; intensity by
 * |delta| / maxAbs (square-root scale so that small changes stay visible).
 * @returns {[number, number, number]}
 */
export function diffRGB(delta, maxAbs) {
  if (!(maxAbs > 0) || !delta) return NEUTRAL.slice();
  const t = Math.sqrt(Math.min(1, Math.abs(delta) / maxAbs));
  const to = delta > 0 ? RED : BLUE;
  return NEUTRAL.map((c, i) => Math.round(c + (to[i] - c) * t));
}

export function diffColor(delta, maxAbs) {
  const [r, g, b] = diffRGB(delta, maxAbs);
  return `rgb(${r},${g},${b})`;
}
