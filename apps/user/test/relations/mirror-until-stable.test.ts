import { describe, expect, it } from 'vitest';
import { mirrorUntilStable } from '../../src/relations/relation-service.js';

describe('mirrorUntilStable', () => {
  it('writes what it read and stops when a second read agrees', async () => {
    const writes: boolean[] = [];
    expect(
      await mirrorUntilStable(
        async () => true,
        async (v) => void writes.push(v),
      ),
    ).toBe(true);
    expect(writes).toEqual([true]);
  });

  it('writes again when the state moved while it was writing', async () => {
    const reads = [true, false, false];
    const writes: boolean[] = [];
    expect(
      await mirrorUntilStable(
        async () => reads.shift()!,
        async (v) => void writes.push(v),
      ),
    ).toBe(true);
    expect(writes).toEqual([true, false]);
  });

  it('gives up after maxRounds of a state that never settles', async () => {
    let flip = false;
    const writes: boolean[] = [];
    expect(
      await mirrorUntilStable(
        async () => (flip = !flip),
        async (v) => void writes.push(v),
        3,
      ),
    ).toBe(false);
    expect(writes).toHaveLength(3);
  });
});
