import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import type { Pattern } from './event-pattern.ts';

/**
 * A whole-batch consumer's batching window, locally at most this: the trickle of a sweep's events
 * is gathered into batches as on AWS, without every local flow waiting a second for its audit record.
 */
const LOCAL_BATCHING_WINDOW_MS = 100;

/** What the local stack takes from serverless.yml: the same functions, routes, schedules, rules and saga AWS gets. */
export interface Definition {
  functions: Record<string, { module: string; exportName: string }>;
  routes: { method: string; path: string; routeKey: string; fn: string }[];
  schedules: { fn: string; everyMs: number }[];
  rules: { name: string; fn: string; pattern: Pattern; wholeBatch?: boolean; batchSize?: number; batchingWindowMs?: number; concurrency?: number }[];
  stateMachine: { definition: Record<string, unknown>; taskFunctions: Record<string, string> };
  /** The code each bundle starts with (custom.esbuild.banner.js): ESM bundles' require() for CommonJS dependencies. */
  bundleBanner: string;
}

const FILE_REF = /^\$\{file\(\.\/([^)]+)\):?([^}]*)\}$/;
const UNITS: Record<string, number> = { minute: 60_000, minutes: 60_000, hour: 3_600_000, hours: 3_600_000, day: 86_400_000, days: 86_400_000 };

/** Resolves a `${file(./path):a.b}` reference the way the Serverless Framework does: the file's JSON, then the property path. */
function fileRef(root: string, ref: string): { value: unknown; key: string } {
  const m = FILE_REF.exec(ref);
  if (!m) throw new Error(`serverless.yml: expected a \${file(...)} reference, found ${ref}`);
  const [, path, address] = m;
  let value: unknown = JSON.parse(readFileSync(join(root, path), 'utf8'));
  for (const part of address.split('.').filter(Boolean)) value = (value as Record<string, unknown>)[part];
  return { value, key: address.split('.')[0] };
}

function rateMs(expression: string): number {
  const m = /^rate\((\d+) (\w+)\)$/.exec(expression);
  if (!m || !UNITS[m[2]]) throw new Error(`serverless.yml: unsupported schedule ${expression} (the local stack runs rate(N unit) schedules)`);
  return Number(m[1]) * UNITS[m[2]];
}

/**
 * Task state name → the function its Resource names (`${self:custom.sagaTasks.<function>}`), nested
 * states included. Resources become local Lambda ARNs, as the framework resolves them to real ones.
 */
function taskFunctions(states: Record<string, Record<string, unknown>>, out: Record<string, string> = {}): Record<string, string> {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') {
      const m = /\$\{self:custom\.sagaTasks\.(\w+)\}/.exec(String(state.Resource));
      if (!m) throw new Error(`saga state ${name}: Resource must be \${self:custom.sagaTasks.<function>}`);
      out[name] = m[1];
      state.Resource = `arn:aws:lambda:us-east-1:000000000000:function:certops-local-${m[1]}`;
    }
    const processor = (state.ItemProcessor ?? state.Iterator) as { States?: Record<string, Record<string, unknown>> } | undefined;
    if (processor?.States) taskFunctions(processor.States, out);
  }
  return out;
}

/**
 * serverless.yml as data, its anchors (the roles' shared resources and statements) expanded. Read
 * with js-yaml: every start reads the file, and the `yaml` package takes some 300 ms over it
 * where js-yaml takes 40.
 */
export function readServerlessYml(root: string): any {
  return load(readFileSync(join(root, 'serverless.yml'), 'utf8'));
}

export function loadDefinition(root: string): Definition {
  const doc = readServerlessYml(root);
  const def: Definition = { functions: {}, routes: [], schedules: [], rules: [], stateMachine: { definition: {}, taskFunctions: {} }, bundleBanner: String(doc.custom?.esbuild?.banner?.js ?? '') };
  for (const [fn, spec] of Object.entries<Record<string, unknown>>(doc.functions)) {
    const handler = String(spec.handler);
    const dot = handler.lastIndexOf('.');
    def.functions[fn] = { module: join(root, `${handler.slice(0, dot)}.ts`), exportName: handler.slice(dot + 1) };
    for (const event of (spec.events ?? []) as Record<string, unknown>[]) {
      if (typeof event.httpApi === 'string') {
        const [method, path] = event.httpApi.split(' ');
        def.routes.push({ method, path, routeKey: event.httpApi, fn });
      } else if (typeof event.schedule === 'string') {
        def.schedules.push({ fn, everyMs: rateMs(event.schedule) });
      }
    }
    // A consumer's rule feeds its queue (deploy/consumer-queues.js); the local bus delivers to it the same way.
    const consumes = spec.consumes as { pattern: string; batchSize?: number; maximumBatchingWindow?: number; maximumConcurrency?: number; wholeBatch?: boolean } | undefined;
    if (consumes) {
      const { value, key } = fileRef(root, String(consumes.pattern));
      def.rules.push({
        name: key, fn, pattern: value as Pattern,
        ...(consumes.wholeBatch ? { wholeBatch: true, batchSize: consumes.batchSize ?? 10, batchingWindowMs: Math.min(LOCAL_BATCHING_WINDOW_MS, (consumes.maximumBatchingWindow ?? 0) * 1000) } : {}),
        ...(consumes.maximumConcurrency ? { concurrency: consumes.maximumConcurrency } : {}),
      });
    }
  }
  const machine = Object.values<Record<string, unknown>>(doc.stepFunctions.stateMachines)[0];
  const definition = fileRef(root, String(machine.definition)).value as Record<string, unknown>;
  def.stateMachine = { definition, taskFunctions: taskFunctions(definition.States as Record<string, Record<string, unknown>>) };
  return def;
}
