/** A chunk of a container's log. */
export interface LogPiece {
  readonly pod: string;
  readonly container: string;
  readonly index: number;
  readonly data: Buffer;
}

export interface LiveLogRequest {
  readonly namespace: string;
  readonly jobId: string;
  readonly run: number;
  readonly index: number;
  /** Empty: the main container. */
  readonly container: string;
  readonly follow: boolean;
  readonly signal: AbortSignal;
}

/** Logs of running pods (Kubernetes). */
export interface LiveLogs {
  /** Streams the log of the run's pod for `index`; resolves false when there is no such pod. */
  stream(request: LiveLogRequest, write: (piece: LogPiece) => Promise<void>): Promise<boolean>;
}

/** Logs archived by log-archiver, found through the run's manifest URI (s3:// or file://). */
export interface ArchivedLogs {
  stream(
    manifestUri: string,
    index: number,
    container: string,
    signal: AbortSignal,
    write: (piece: LogPiece) => Promise<void>,
  ): Promise<void>;
}
