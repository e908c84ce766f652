// The supervision tree's plain data, shared by the supervisor machine, its actor runtime and the
// telemetry that reports on it (metrics, traces): policies, restarts, give-ups and status.

export type RestartType = 'permanent' | 'transient' | 'temporary';

export type Strategy = 'one_for_one' | 'rest_for_one';

/** At most `maxRestarts` restarts within `periodMs` of the restarted children's up-time. */
export interface Intensity {
  readonly maxRestarts: number;
  readonly periodMs: number;
}

/**
 * idle: not started yet. running: up. restarting: down, a restart is pending (its own deadline, or
 * with an earlier sibling under rest_for_one). exited: ended by itself for good (its policy does not
 * restart it, or it made the supervisor give up). stopped: stopped by the supervisor for good.
 */
export type ChildState = 'idle' | 'running' | 'restarting' | 'exited' | 'stopped';

export interface GiveUpReason {
  readonly supervisor: string;
  /** The child whose exit would have exceeded the intensity; null when the supervisor itself failed. */
  readonly child: string | null;
  /** The error of that exit; null for a normal completion (of a permanent child). */
  readonly error: string | null;
  /** Restarts on the books when it exited (the one refused not counted). */
  readonly restarts: number;
  readonly intensity: Intensity;
  readonly at: number;
  /** How long this supervisor waited out restarts during its life: not up-time for its parent. */
  readonly downMs: number;
  readonly message: string;
}

/** One child started again: the hook for logs, metrics and (later) tracing. */
export interface RestartReport {
  readonly child: string;
  readonly at: number;
  /** The child whose exit caused it: itself, or an earlier sibling under rest_for_one. */
  readonly cause: string;
  /** Its restarts so far, this one included. */
  readonly restarts: number;
  /** The backoff waited. */
  readonly delayMs: number;
  /** The cause's error (null: it completed normally, a permanent child). */
  readonly error: string | null;
}

/** A restart as the onRestart hook sees it. */
export interface RestartEvent extends RestartReport {
  readonly supervisor: string;
  readonly systemId: string;
}

export interface ChildStatus {
  readonly id: string;
  readonly systemId: string;
  readonly restart: RestartType;
  readonly state: ChildState;
  readonly restarts: number;
  readonly failures: number;
  readonly lastError: string | null;
  readonly lastExitAt: number | null;
  /** restarting: when it starts again. */
  readonly restartAt: number | null;
  /** A nested supervisor's own status, while it runs. */
  readonly supervisor?: SupervisorStatus;
}

/** What /health and metrics read. */
export interface SupervisorStatus {
  readonly id: string;
  readonly state: 'idle' | 'running' | 'stopped' | 'gaveUp';
  readonly strategy: Strategy;
  readonly gaveUp: GiveUpReason | null;
  readonly children: readonly ChildStatus[];
}
