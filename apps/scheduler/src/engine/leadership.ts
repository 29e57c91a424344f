import { describeError, isRetriable, retry, type Component, type Logger } from '@wharf/platform';
import type { JobEngine } from './job-engine';

/** Decides which scheduler instance writes (a Kubernetes Lease in a cluster). */
export interface LeaderElection extends Component {
  isLeader(): boolean;
}

export interface LeadershipOptions {
  readonly engine: JobEngine;
  readonly logger: Logger;
  /** Components that run only while leading (the Kafka consumers); new ones per term. */
  readonly leaderComponents: () => readonly Component[];
  readonly admissionIntervalMs: number;
  /** How often workflow timeouts are checked. @default 1_000 */
  readonly workflowTimerIntervalMs?: number;
  readonly expiryIntervalMs: number;
}

/**
 * Runs the leader's work while this instance leads: on becoming leader it activates the engine
 * (fence older writers, restore state), starts the consumers and the admission and expiry
 * loops; on losing the lead (or being fenced) it stops them all and goes back to standby.
 * Transitions are serialised, so a quick lose-win sequence cannot interleave.
 */
export class Leadership implements Component {
  readonly name = 'leadership';
  private term: { components: Component[]; timers: NodeJS.Timeout[]; starting: Promise<void>; abort: AbortController } | undefined;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private abortTakeover: (() => void) | undefined;

  constructor(private readonly options: LeadershipOptions) {}

  ready(): boolean {
    return this.term !== undefined && this.options.engine.isActive();
  }

  isLeading(): boolean {
    return this.ready();
  }

  startedLeading(): void {
    this.enqueue(() => this.begin());
  }

  stoppedLeading(): void {
    this.abortTakeover?.();
    this.enqueue(() => this.end('lost the lease'));
  }

  /** A newer writer fenced this one: stop writing at once. */
  fenced(): void {
    this.enqueue(() => this.end('fenced by a newer writer'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abortTakeover?.();
    this.enqueue(() => this.end('stopping'));
    await this.chain;
  }

  /** Resolves when pending transitions are done (tests). */
  settled(): Promise<void> {
    return this.chain;
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((error: unknown) => {
      this.options.logger.error({ err: describeError(error) }, 'leadership transition failed');
    });
  }

  private async begin(): Promise<void> {
    if (this.term || this.stopped) return;
    const { logger } = this.options;
    logger.info('taking over as the writer');
    // Kafka may still be settling (a topic just created, a coordinator loading): retry the
    // whole takeover until it works or leadership ends.
    const attempt = new AbortController();
    this.abortTakeover = () => attempt.abort(new Error('leadership ended'));
    try {
      await retry(() => this.takeOver(), {
        retries: Infinity,
        minDelayMs: 200,
        maxDelayMs: 5_000,
        signal: attempt.signal,
        shouldRetry: isRetriable,
        onRetry: (error, n) => logger.warn({ err: describeError(error), attempt: n }, 'could not take over yet; retrying'),
      });
    } catch (error) {
      logger.error({ err: describeError(error) }, 'could not take over; staying standby');
      throw error;
    } finally {
      this.abortTakeover = undefined;
    }
    const { engine } = this.options;
    const loop = (ms: number, fn: () => Promise<unknown>): NodeJS.Timeout => {
      let busy = false;
      return setInterval(() => {
        if (busy) return;
        busy = true;
        fn()
          .catch((error: unknown) => logger.warn({ err: describeError(error) }, 'leader loop step failed'))
          .finally(() => (busy = false));
      }, ms);
    };
    const abort = new AbortController();
    const components: Component[] = [];
    this.term = {
      components,
      abort,
      timers: [
        loop(this.options.admissionIntervalMs, () => engine.admissionCycle()),
        loop(this.options.expiryIntervalMs, () => engine.expire()),
        loop(this.options.workflowTimerIntervalMs ?? 1_000, () => engine.workflowTimers()),
      ],
      // Consumers join their groups in the background: after a leader died, a join waits for
      // the dead member's session to expire, and the API need not wait for that.
      starting: this.startComponents(components, abort.signal),
    };
    logger.info('leading');
  }

  private async startComponents(into: Component[], signal: AbortSignal): Promise<void> {
    const { logger } = this.options;
    for (const component of this.options.leaderComponents()) {
      try {
        await retry(() => component.start?.() ?? Promise.resolve(), {
          retries: Infinity,
          minDelayMs: 200,
          maxDelayMs: 5_000,
          signal,
          shouldRetry: isRetriable,
          onRetry: (error, n) => logger.warn({ err: describeError(error), attempt: n, component: component.name }, 'leader component failed to start; retrying'),
        });
      } catch (error) {
        if (!signal.aborted) logger.error({ err: describeError(error), component: component.name }, 'leader component failed to start');
        return;
      }
      if (signal.aborted) {
        await component.stop?.().catch(() => undefined);
        return;
      }
      into.push(component);
    }
  }

  /** Fences older writers and restores the state; undone on failure. */
  private async takeOver(): Promise<void> {
    try {
      await this.options.engine.activate();
    } catch (error) {
      await this.options.engine.deactivate().catch(() => undefined);
      throw error;
    }
  }

  private async end(reason: string): Promise<void> {
    const term = this.term;
    if (!term && !this.options.engine.isActive()) return;
    this.term = undefined;
    this.options.logger.warn({ reason }, 'standing down as the writer');
    for (const timer of term?.timers ?? []) clearInterval(timer);
    term?.abort.abort(new Error('leadership ended'));
    await term?.starting;
    await this.options.engine.deactivate();
    for (const c of [...(term?.components ?? [])].reverse()) {
      await c.stop?.().catch((error: unknown) => this.options.logger.warn({ err: describeError(error), component: c.name }, 'component failed to stop'));
    }
  }
}

/** Election for a single instance (no Kubernetes): always the leader; Kafka still fences. */
export class SoleLeader implements LeaderElection {
  readonly name = 'sole-leader';
  private leading = false;
  constructor(private readonly onStartedLeading: () => void) {}
  async start(): Promise<void> {
    this.leading = true;
    this.onStartedLeading();
  }
  isLeader(): boolean {
    return this.leading;
  }
  async stop(): Promise<void> {
    this.leading = false;
  }
}
