// @ts-check
const Sequencer = require('@jest/test-sequencer').default;

/**
 * The longest files start first, so that with two workers the run ends soon after the longest one
 * does. Jest orders by the durations it cached from the last run, and a fresh clone (CI) has no
 * cache: there it would order by file size and might start a 100-second file last. (The
 * 20,000-member scale test runs on its own after the rest, `npm run test:scale`: it measures
 * throughput and memory, and shares no CPU with other files.)
 */
const SLOWEST_FIRST = ['cdk/cli-synth.test.ts', 'integration/faults.test.ts', 'integration/sustained-load.test.ts', 'integration/bundles.test.ts'];

/** @param {string} path */
const rank = (path) => {
  const i = SLOWEST_FIRST.findIndex((name) => path.replace(/\\/g, '/').endsWith(`test/${name}`));
  return i === -1 ? SLOWEST_FIRST.length : i;
};

class SlowestFirst extends Sequencer {
  /** @param {import('@jest/test-result').Test[]} tests */
  async sort(tests) {
    const byJest = await super.sort(tests);
    return [...byJest].sort((a, b) => rank(a.path) - rank(b.path));
  }
}

module.exports = SlowestFirst;
