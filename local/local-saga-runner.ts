import './polyfills.ts';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../shared/canonical-json.ts';
import type { Clock, ExecutionStore } from '../shared/ports.ts';
import { onceUnlessFailed } from '../shared/once-unless-failed.ts';

/** The error a saga's Lock step retries on while the certificate's lock is held (services/renewal/saga.asl.json). */
const LOCK_WAIT = 'RenewalLocked';
/** The error the Renew step retries on while the CA has not issued (an ACME CA validating): its waits are the CA's time, not a fault's. */
const ISSUANCE_PENDING = 'IssuancePending';

export interface SagaRunnerOptions {
  definition: Record<string, unknown>;
  /** Task state name → the function it runs. */
  taskFunctions: Record<string, string>;
  invoke(fn: string, input: unknown): Promise<unknown>;
  /** Where executions and their completed tasks are kept, so a restart resumes them. */
  executions: ExecutionStore;
  clock: Clock;
  /** Milliseconds between Retry attempts instead of the ASL's IntervalSeconds (0 in tests). */
  retryIntervalMs?: number;
  /** Milliseconds between IssuancePending retries; unset, the ASL's own (30 s and up): a CA's validation takes real time. */
  pendingRetryIntervalMs?: number;
  onFinished?(name: string, outcome: { status: 'SUCCEEDED' | 'FAILED'; output?: unknown; error?: string }): void;
  /** An execution that could not run now (its state not stored, the state machine not loaded): it stays running, and the next start resumes it. */
  onError?(name: string, err: unknown): void;
  /** Called after each task an execution completes (the crash-test harness stops the process there). */
  afterTask?(state: string): void;
}

/** A task's key within its execution: its state and the input it was given (a Map's items differ by input). */
function taskKey(state: string, input: unknown): string {
  return `${state}#${createHash('sha256').update(canonicalJson(input)).digest('hex').slice(0, 32)}`;
}

/**
 * Runs the saga's ASL with aws-local-stepfunctions, every Task mapped to the same handler Lambda
 * runs. Errors thrown by a task keep their name, so Retry and Catch match as on AWS.
 *
 * Executions are durable, as Step Functions' are: an execution and each task it completes are
 * stored, and a new start resumes every execution that was running. Resuming replays the state
 * machine from its input, answering each task it completed before from the store (with the same
 * output), so it goes on from the first task that had not completed: that one runs again, and the
 * tasks are idempotent for it.
 */
export class LocalSagaRunner {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: SagaRunnerOptions) {}

  /**
   * The state machine, made when the first execution runs: most starts run none, and the library
   * takes some 250 ms to import. The definition is serverless.yml's, checked against the ASL
   * schema by the suite (test/saga-definition.test.ts); checking it on every start took 500 ms more.
   */
  private readonly stateMachine = onceUnlessFailed(() => import('aws-local-stepfunctions').then(({ StateMachine }) => new StateMachine(this.options.definition as never, { validationOptions: { noValidate: true } })));

  /** Starts an execution unless the name was used; returns whether it started. */
  async start(name: string, input: unknown): Promise<boolean> {
    if (!(await this.options.executions.create(name, input, this.options.clock.now()))) return false;
    this.run(name, input);
    return true;
  }

  /** Resumes every execution a previous process left running; returns how many. */
  async resume(): Promise<number> {
    const running = await this.options.executions.running();
    for (const { name, input } of running) this.run(name, input);
    return running.length;
  }

  private run(name: string, input: unknown): void {
    const { executions } = this.options;
    const handlers = Object.fromEntries(Object.entries(this.options.taskFunctions).map(([state, fn]) => [state, async (taskInput: unknown) => {
      const key = taskKey(state, taskInput);
      const done = await executions.taskResult(name, key);
      if (done) return done.output as never;
      const output = await this.options.invoke(fn, taskInput);
      await executions.saveTaskResult(name, key, output);
      this.options.afterTask?.(state);
      return output as never;
    }]));
    const retry = this.options.retryIntervalMs;
    const states = (this.options.definition.States ?? {}) as Record<string, { Retry?: { ErrorEquals: string[] }[] }>;
    // A retry that waits for another holder of the certificate's lock (a deployment verifying) needs
    // real time for that holder to finish: at least a second, whatever the tests' override.
    // -1: the retrier waits as the ASL says.
    const interval = (errors: string[]) => (errors.includes(LOCK_WAIT) ? Math.max(retry!, 1000) : errors.includes(ISSUANCE_PENDING) ? (this.options.pendingRetryIntervalMs ?? -1) : retry!);
    const retryOverrides = retry === undefined ? undefined : Object.fromEntries(Object.keys(this.options.taskFunctions).map((s) => [s, (states[s]?.Retry ?? []).map((r) => interval(r.ErrorEquals))]));
    const finish = async (status: 'SUCCEEDED' | 'FAILED', detail: unknown) => {
      await executions.finish(name, status, detail, this.options.clock.now());
      this.options.onFinished?.(name, status === 'SUCCEEDED' ? { status, output: detail } : { status, error: String(detail) });
    };
    const done = this.stateMachine()
      .then((machine) => machine.run(input as never, { overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retryOverrides } }).result
        .then((output) => finish('SUCCEEDED', output), (err) => finish('FAILED', (err as Error).message)))
      // A store that fails here leaves the execution running: the next start resumes it.
      .catch((err) => this.options.onError?.(name, err))
      .finally(() => this.running.delete(done));
    this.running.add(done);
  }

  async drain(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }
}
