import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Definition } from './serverless-definition.ts';
import { runAsFunction } from '../adapters/aws/call-recorder.ts';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** Invokes serverless.yml's functions (in this process, or each in processes of its own). */
export interface FunctionInvoker {
  invoke(name: string, event: unknown): Promise<unknown>;
  /** Ends what the invoker started (its worker processes). */
  stop(): Promise<void>;
}

/** Fails the invocation as a crashed Lambda would when `faultsFile` (a JSON list of "fn:action") names it. */
export function injectFault(faultsFile: string | undefined, name: string, event: unknown): void {
  if (!faultsFile || !existsSync(faultsFile)) return;
  const faults = JSON.parse(readFileSync(faultsFile, 'utf8')) as string[];
  const action = (event as { action?: string } | undefined)?.action;
  if (faults.includes(`${name}:${action}`)) {
    throw Object.assign(new Error(`${name} crashed during ${action} (injected)`), { name: 'Lambda.Unknown' });
  }
}

/** Invokes the functions of serverless.yml in this process, loading each handler module on first use, as Lambda does. */
export class LocalFunctions implements FunctionInvoker {
  private readonly loaded = new Map<string, Promise<Handler>>();

  /**
   * `faultsFile`, when set, lists invocations to fail as a crashed Lambda would (["fn:action"]),
   * read on every call: tests use it to break a saga at any step, as AWS would see it.
   */
  constructor(private readonly definition: Definition, private readonly faultsFile?: string) {}

  private handler(name: string): Promise<Handler> {
    const spec = this.definition.functions[name];
    if (!spec) throw new Error(`no function ${name} in serverless.yml`);
    let h = this.loaded.get(name);
    if (!h) {
      h = import(pathToFileURL(spec.module).href).then((mod) => {
        if (typeof mod[spec.exportName] !== 'function') throw new Error(`${spec.module} does not export ${spec.exportName}`);
        return mod[spec.exportName] as Handler;
      });
      this.loaded.set(name, h);
    }
    return h;
  }

  async invoke(name: string, event: unknown): Promise<unknown> {
    injectFault(this.faultsFile, name, event);
    const deadline = Date.now() + 900_000;
    const context = { functionName: name, awsRequestId: randomUUID(), getRemainingTimeInMillis: () => deadline - Date.now(), callbackWaitsForEmptyEventLoop: false };
    const handler = await this.handler(name);
    return runAsFunction(name, () => handler(event, context));
  }

  async stop(): Promise<void> {}
}
