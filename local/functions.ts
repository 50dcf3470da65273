import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Definition } from './serverless-definition.ts';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** Invokes the functions of serverless.yml in this process, loading each handler module on first use, as Lambda does. */
export class LocalFunctions {
  private readonly loaded = new Map<string, Promise<Handler>>();

  constructor(private readonly definition: Definition) {}

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
    const deadline = Date.now() + 900_000;
    const context = { functionName: name, awsRequestId: randomUUID(), getRemainingTimeInMillis: () => deadline - Date.now(), callbackWaitsForEmptyEventLoop: false };
    return (await this.handler(name))(event, context);
  }
}
