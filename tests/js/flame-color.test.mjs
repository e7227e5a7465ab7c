import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashName, warmRGB, warmColor, diffRGB, diffColor } from '../../html/js/flame-color.js';

test('warm colours are deterministic, warm, and vary by name', () => {
  const names = Array.from({ length: 500 }, (_, i) => `fn_${i}`);
  const colours = new Set();
  for (const n of names) {
    assert.equal(warmColor(n), warmColor(n));
    assert.equal(hashName(n), hashName(n));
    const [r, g, b] = warmRGB(n);
    assert.ok(r >= 205 && r <= 255 && g >= 90 && g <= 230 && b >= 0 && b <= 60, n);
    assert.ok(g > b);
    colours.add(warmColor(n));
  }
  assert.ok(colours.size > 400);
  assert.match(warmColor('main'), /^rgb\(\d+,\d+,\d+\)$/);
});

test('diff colours: red grew, blue shrank, neutral unchanged, intensity by magnitude', () => {
  const neutral = diffRGB(0, 0.5);
  assert.deepEqual(diffRGB(0.1, 0), neutral);
  const red = diffRGB(0.5, 0.5);
  const blue = diffRGB(-0.5, 0.5);
  assert.ok(red[0] > red[2] + 100);
  assert.ok(blue[2] > blue[0] + 100);
  const weak = diffRGB(0.05, 0.5);
  assert.ok(weak[1] > red[1] && weak[1] < neutral[1]); // less saturated than full red
  assert.deepEqual(diffRGB(2, 0.5), red); // clamped
  assert.equal(diffColor(0.5, 0.5), `rgb(${red.join(',')})`);
});
