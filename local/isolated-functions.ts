import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import type { Definition } from './serverless-definition.ts';
import { injectFault, type FunctionInvoker } from './functions.ts';

const WORKER = new URL('./function-worker.mjs', import.meta.url);

/** What a worker answers (local/function-worker.mjs). */
type WorkerAnswer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { name: string; message: string } };

/** One execution environment: a worker process with a temporary folder of its own, for a number of invocations. */
class Environment {
  private readonly process: ChildProcess;
  private readonly folder = mkdtempSync(join(tmpdir(), 'certops-fn-'));
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextId = 0;
  readonly started: Promise<void>;

  constructor(readonly name: string, bundle: string, exportName: string, public invocationsLeft: number) {
    // The state folder is the environment's own: whatever a function leaves there is gone with it.
    this.process = fork(WORKER, [bundle, exportName], { env: { ...process.env, CERTOPS_HOME: this.folder, AWS_LAMBDA_FUNCTION_NAME: name }, execArgv: [], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.started = new Promise((resolve, reject) => {
      this.process.once('message', () => resolve());
      this.process.once('exit', (code) => reject(new Error(`the ${name} environment exited at start (${code})`)));
    });
    this.process.on('message', (answer: WorkerAnswer | 'ready') => {
      if (answer === 'ready') return;
      const call = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (answer.ok) call?.resolve(answer.result);
      else call?.reject(Object.assign(new Error(answer.error.message), { name: answer.error.name }));
    });
    // A worker that dies mid-invocation fails it as Lambda does when its environment crashes.
    this.process.on('exit', (code, signal) => {
      for (const call of this.pending.values()) call.reject(Object.assign(new Error(`the ${name} environment exited (${signal ?? code})`), { name: 'Lambda.Unknown' }));
      this.pending.clear();
      rmSync(this.folder, { recursive: true, force: true });
    });
  }

  async invoke(event: unknown): Promise<unknown> {
    await this.started;
    this.invocationsLeft--;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.process.send({ id, event });
    });
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  end(): Promise<void> {
    if (!this.alive) return Promise.resolve();
    return new Promise((resolve) => {
      this.process.once('exit', () => resolve());
      this.process.kill();
    });
  }
}

/**
 * Every function in execution environments of its own (CERTOPS_ISOLATE_FUNCTIONS=1), as Lambda
 * runs them: each function's handler bundled as Lambda gets it (esbuild, once per module), a
 * worker process per environment, one invocation at a time, with its own temporary
 * state folder, recycled after a random number of invocations (1 to `maxInvocations`), so nothing
 * a function keeps on disk or in memory outlives its environment. They share only what AWS would
 * give them: the table, the bus and the state machine runner (the parent's endpoints), the
 * master key (KMS's stand-in) and the files the configuration names.
 */
export class IsolatedFunctions implements FunctionInvoker {
  private readonly idle = new Map<string, Environment[]>();
  private readonly all = new Set<Environment>();
  private readonly bundles = new Map<string, Promise<string>>();
  private readonly bundleFolder = mkdtempSync(join(tmpdir(), 'certops-bundles-'));

  constructor(private readonly definition: Definition, private readonly faultsFile?: string, private readonly maxInvocations = 20, private readonly random: () => number = Math.random) {}

  /** The module's bundle (made on first use): what Lambda would load, the test hooks left in. */
  private bundle(module: string): Promise<string> {
    let made = this.bundles.get(module);
    if (!made) {
      const outfile = join(this.bundleFolder, `${this.bundles.size}-${basename(module, '.ts')}.mjs`);
      made = build({ entryPoints: [module], bundle: true, platform: 'node', target: 'node20', format: 'esm', banner: { js: this.definition.bundleBanner }, outfile, logLevel: 'silent' }).then(() => outfile);
      this.bundles.set(module, made);
    }
    return made;
  }

  async invoke(name: string, event: unknown): Promise<unknown> {
    if (!this.definition.functions[name]) throw new Error(`no function ${name} in serverless.yml`);
    injectFault(this.faultsFile, name, event);
    const environment = this.takeIdle(name) ?? (await this.create(name));
    try {
      return await environment.invoke(event);
    } finally {
      if (environment.invocationsLeft > 0 && environment.alive) this.idle.set(name, [...(this.idle.get(name) ?? []), environment]);
      else this.retire(environment);
    }
  }

  /** An idle environment of the function that is still alive (one may have died while idle). */
  private takeIdle(name: string): Environment | undefined {
    const idle = this.idle.get(name) ?? [];
    for (let e = idle.pop(); e; e = idle.pop()) {
      if (e.alive) return e;
      this.all.delete(e);
    }
    return undefined;
  }

  private async create(name: string): Promise<Environment> {
    const { module, exportName } = this.definition.functions[name];
    const environment = new Environment(name, await this.bundle(module), exportName, 1 + Math.floor(this.random() * this.maxInvocations));
    this.all.add(environment);
    return environment;
  }

  private retire(environment: Environment): Promise<void> {
    this.all.delete(environment);
    return environment.end();
  }

  async stop(): Promise<void> {
    this.idle.clear();
    await Promise.all([...this.all].map((e) => this.retire(e)));
    rmSync(this.bundleFolder, { recursive: true, force: true });
  }
}
