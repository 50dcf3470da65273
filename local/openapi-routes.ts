import { pathToFileURL } from 'node:url';
import type { ServedRoutes } from '../adapters/http/openapi.ts';
import { loadDefinition } from './serverless-definition.ts';

/**
 * Every function's HTTP routes with their docs, from serverless.yml's httpApi events and each
 * handler module's route table (`<export>.routes`, or `routes` beside a plain handler). Throws
 * naming a route serverless.yml serves that its handler does not document, or the reverse.
 */
export async function servedRoutes(root: string): Promise<ServedRoutes[]> {
  const definition = loadDefinition(root);
  const served: ServedRoutes[] = [];
  for (const [fn, { module, exportName }] of Object.entries(definition.functions)) {
    const keys = definition.routes.filter((r) => r.fn === fn).map((r) => r.routeKey);
    if (keys.length === 0) continue;
    const loaded = await import(pathToFileURL(module).href);
    const routes = (loaded[exportName]?.routes ?? loaded.routes) as ServedRoutes['routes'] | undefined;
    for (const key of keys) if (!routes?.[key]) throw new Error(`${fn}: serverless.yml routes ${key} to ${module}, which does not document it`);
    for (const key of Object.keys(routes ?? {})) if (!keys.includes(key)) throw new Error(`${fn}: ${module} documents ${key}, which serverless.yml does not route to it`);
    served.push({ fn, routes: routes! });
  }
  return served;
}
