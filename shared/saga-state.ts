import { ValidationError } from './errors.ts';
import { asObject, requiredString } from './input.ts';

/** The saga's running state as the state machine passes it from step to step (the ASL's `$`). */
export interface SagaState {
  certificateId: string;
  executionName: string;
  trigger: 'sweep' | 'manual' | 'approval';
  /** Who asked for a manual renewal, or approved a renewal that needed it. */
  requestedBy?: string;
  renewed?: { newCertificateId: string; targets: string[] };
  /** Set by a Catch: what failed, and (by the Pass state after it) in which step. */
  error?: { Error?: string; Cause?: string };
  failedStep?: string;
  /** Set by Abort's Catch: why undoing the renewal failed. */
  abortError?: { Error?: string; Cause?: string };
}

export function parseSagaState(value: unknown): SagaState {
  const obj = asObject(value, 'saga');
  const trigger = obj.trigger === 'manual' || obj.trigger === 'approval' ? obj.trigger : 'sweep';
  if (obj.renewed !== undefined) asObject(obj.renewed, 'saga.renewed');
  return { ...(obj as object), certificateId: requiredString(obj, 'certificateId'), executionName: requiredString(obj, 'executionName'), trigger } as SagaState;
}

/** The step and message of a failure caught by the state machine (Lambda wraps it as JSON in Cause). */
export function failureOf(error: SagaState['error'], failedStep?: string): { step: string; cause: string } {
  let message = error?.Cause ?? error?.Error ?? 'unknown failure';
  try {
    message = JSON.parse(message).errorMessage ?? message;
  } catch {
    // Cause was plain text already
  }
  // A step's own error names where inside it failed (verify is part of the deploy Map); else the state machine says.
  const step = message.match(/^(lock|renew|deploy|verify|commit): /)?.[1] ?? failedStep ?? 'unknown';
  return { step, cause: message };
}

export function requireRenewed(state: SagaState): NonNullable<SagaState['renewed']> {
  if (!state.renewed) throw new ValidationError('the saga has no renewed certificate yet', 'saga.renewed');
  return state.renewed;
}
