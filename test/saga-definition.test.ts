import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { loadDefinition } from '../local/serverless-definition.ts';
import { ROOT } from './support/processes.ts';

/**
 * The local saga runner takes serverless.yml's state machine without checking it on every start:
 * this is where it is checked, against the Amazon States Language schema and its rules (states
 * reachable, every Next and Default naming a state), with the library the runner runs it with.
 */
const validated = (definition: unknown) => () => new StateMachine(definition as never, { validationOptions: { checkArn: false } });

describe("the renewal saga's definition", () => {
  const { definition } = loadDefinition(ROOT).stateMachine;

  it('is valid Amazon States Language', () => {
    expect(Object.keys(definition.States as object).length).toBeGreaterThan(5);
    expect(validated(definition)).not.toThrow();
  });

  it('would be refused with a transition to a state it does not have', () => {
    const broken = structuredClone(definition) as { StartAt: string; States: Record<string, Record<string, unknown>> };
    const first = broken.States[broken.StartAt];
    first.Next = 'NoSuchState';
    delete first.End;
    expect(validated(broken)).toThrow();
  });
});
