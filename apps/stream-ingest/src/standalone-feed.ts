import type { StreamSpec } from '@wharf/contracts';
import type { Component } from '@wharf/platform';

/**
 * Desired state of a standalone deployment: the streams of the config file, owned by this
 * replica alone (no wharf.streams, no scheduler). Run one replica per config.
 */
export class StandaloneFeed implements Component {
  readonly name = 'standalone-streams';

  constructor(
    private readonly specs: readonly StreamSpec[],
    private readonly target: { upsert(spec: StreamSpec): void },
  ) {}

  async start(): Promise<void> {
    for (const spec of this.specs) this.target.upsert(spec);
  }
}
