import './polyfills.ts';
import { StateMachine } from 'aws-local-stepfunctions';

export interface SagaRunnerOptions {
  definition: Record<string, unknown>;
  /** Task state name → the function it runs. */
  taskFunctions: Record<string, string>;
  invoke(fn: string, input: unknown): Promise<unknown>;
  /** Claims an execution name; false when it was used before (Step Functions keeps names unique). */
  claimName(name: string): Promise<boolean>;
  /** Milliseconds between Retry attempts instead of the ASL's IntervalSeconds (0 in tests). */
  retryIntervalMs?: number;
  onFinished?(name: string, outcome: { status: 'SUCCEEDED' | 'FAILED'; output?: unknown; error?: string }): void;
}

/**
 * Runs the saga's ASL with aws-local-stepfunctions, every Task mapped to the same handler Lambda
 * runs. Errors thrown by a task keep their name, so Retry and Catch match as on AWS.
 */
export class LocalSagaRunner {
  private readonly machine: StateMachine;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: SagaRunnerOptions) {
    this.machine = new StateMachine(options.definition as never, { validationOptions: { checkArn: false } });
  }

  /** Starts an execution unless the name was used; returns whether it started. */
  async start(name: string, input: unknown): Promise<boolean> {
    if (!(await this.options.claimName(name))) return false;
    const handlers = Object.fromEntries(Object.entries(this.options.taskFunctions).map(([state, fn]) => [state, (i: unknown) => this.options.invoke(fn, i) as never]));
    const retry = this.options.retryIntervalMs;
    const retryOverrides = retry === undefined ? undefined : Object.fromEntries(Object.keys(this.options.taskFunctions).map((s) => [s, retry]));
    const execution = this.machine.run(input as never, { overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retryOverrides } });
    const done = execution.result.then(
      (output) => this.options.onFinished?.(name, { status: 'SUCCEEDED', output }),
      (err) => this.options.onFinished?.(name, { status: 'FAILED', error: (err as Error).message }),
    ).finally(() => this.running.delete(done));
    this.running.add(done);
    return true;
  }

  async drain(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }
}
