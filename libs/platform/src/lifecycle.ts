import type { Logger } from './logger';
import { describeError } from './errors';

/** A part of a service with a start and a stop, registered with the {@link Lifecycle}. */
export interface Component {
  readonly name: string;
  start?(): Promise<void>;
  /** Stop intake, drain, flush, close. Called once, in reverse start order. */
  stop?(): Promise<void>;
  /** False while the component cannot take work (e.g. a standby, a lost connection). */
  ready?(): boolean;
}

export interface LifecycleOptions {
  readonly logger: Logger;
  /** Kept below the pod's terminationGracePeriodSeconds. @default 20_000 */
  readonly shutdownTimeoutMs?: number;
  /** Injected for tests. @default process.exit */
  readonly exit?: (code: number) => void;
}

/** Documented states: created → starting → running → stopping → stopped. */
export type LifecycleState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The one owner of process signals. Starts components in registration order; on SIGTERM or
 * SIGINT (or a failed start) stops them in reverse order within a deadline, then exits.
 * Readiness means "safe to take work": running, and every component ready.
 */
export class Lifecycle {
  private readonly components: Component[] = [];
  private readonly started: Component[] = [];
  private stopping: Promise<boolean> | undefined;
  state: LifecycleState = 'created';

  constructor(private readonly options: LifecycleOptions) {}

  register(component: Component): this {
    this.components.push(component);
    return this;
  }

  async start(): Promise<void> {
    this.state = 'starting';
    for (const component of this.components) {
      try {
        await component.start?.();
        this.started.push(component);
        this.options.logger.debug({ component: component.name }, 'component started');
      } catch (error) {
        this.options.logger.error({ component: component.name, err: error }, 'component failed to start');
        await this.stop();
        throw error;
      }
    }
    this.state = 'running';
    this.options.logger.info('service started');
  }

  isReady(): boolean {
    return this.state === 'running' && this.components.every((c) => c.ready?.() ?? true);
  }

  /** Stops every started component in reverse order. Resolves false if the deadline passed. */
  stop(): Promise<boolean> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  /** SIGTERM/SIGINT → stop → exit 0 (1 when the deadline passed or a stop failed). */
  handleSignals(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      this.options.logger.info({ signal }, 'shutdown requested');
      const exit = this.options.exit ?? ((code: number) => process.exit(code));
      void this.stop().then((clean) => exit(clean ? 0 : 1));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  private async stopAll(): Promise<boolean> {
    this.state = 'stopping';
    const timeoutMs = this.options.shutdownTimeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const work = (async () => {
      let clean = true;
      for (const component of [...this.started].reverse()) {
        try {
          await component.stop?.();
        } catch (error) {
          clean = false;
          this.options.logger.error(
            { component: component.name, err: describeError(error) },
            'component failed to stop',
          );
        }
      }
      return clean;
    })();
    const clean = await Promise.race([work, deadline]);
    clearTimeout(timer);
    this.state = 'stopped';
    if (clean) this.options.logger.info('service stopped');
    else this.options.logger.error({ timeoutMs }, 'service stopped with errors or past its deadline');
    return clean;
  }
}
