/** The benchmark script must keep working; its speed is reported, never asserted. */
import t from 'tap';
import { benchEnvelope } from '../../scripts/bench/envelope.js';

t.test('benchEnvelope runs end to end on a small input', async (t) => {
  const result = await benchEnvelope(3 * 1024 * 1024 + 5);
  for (const key of ['encryptMBps', 'decryptMBps', 'describeMBps'] as const) {
    t.ok(Number.isFinite(result[key]) && result[key] > 0, `${key} is a positive number`);
  }
  await t.rejects(benchEnvelope(0), RangeError);
});
