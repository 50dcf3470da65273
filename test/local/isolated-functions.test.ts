import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IsolatedFunctions } from '../../local/isolated-functions.ts';
import type { Definition } from '../../local/serverless-definition.ts';
import { ROOT } from '../support/processes.ts';

const definition = {
  functions: { probe: { module: join(ROOT, 'test/fixtures/isolated/handler.ts'), exportName: 'handler' } },
  routes: [], schedules: [], rules: [], stateMachine: { definition: {}, taskFunctions: {} },
  bundleBanner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
} satisfies Definition;

type Probe = { pid: number; home: string; invocations: number; functionName: string };

/** CERTOPS_ISOLATE_FUNCTIONS=1: each function in execution environments of its own, recycled. */
describe('isolated functions', () => {
  let functions: IsolatedFunctions;
  afterEach(() => functions.stop());

  it('keeps an environment (process, folder, memory) for its number of invocations, then starts a new one and removes the old folder', async () => {
    functions = new IsolatedFunctions(definition, undefined, 3, () => 0.99);
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push((await functions.invoke('probe', {})) as Probe);
    expect(runs.map((r) => r.invocations)).toEqual([1, 2, 3, 1]);
    expect(new Set(runs.slice(0, 3).map((r) => r.pid)).size).toBe(1);
    expect(runs[3].pid).not.toBe(runs[0].pid);
    expect(runs[3].home).not.toBe(runs[0].home);
    expect(runs[0].functionName).toBe('probe');
    expect(existsSync(runs[0].home)).toBe(false);
  });

  it('with a budget of one, no invocation sees what another kept', async () => {
    functions = new IsolatedFunctions(definition, undefined, 1);
    const [a, b] = (await Promise.all([functions.invoke('probe', {}), functions.invoke('probe', {})])) as Probe[];
    expect([a.invocations, b.invocations]).toEqual([1, 1]);
    expect(a.pid).not.toBe(b.pid);
  });

  it('passes a handler\'s error on by name, fails an invocation whose environment dies as Lambda does, and goes on', async () => {
    functions = new IsolatedFunctions(definition, undefined, 5, () => 0.99);
    await expect(functions.invoke('probe', { fail: true })).rejects.toMatchObject({ name: 'StepError', message: 'refused on purpose' });
    await expect(functions.invoke('probe', { crash: true })).rejects.toMatchObject({ name: 'Lambda.Unknown' });
    expect(((await functions.invoke('probe', {})) as Probe).invocations).toBe(1);
    await expect(functions.invoke('nope', {})).rejects.toThrow(/no function nope/);
  });
});
