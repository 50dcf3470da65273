import { rmSync } from 'node:fs';
import { RECORDED_ANSWERS, RECORDED_CALLS } from '../support/processes.ts';

/** A run records its own AWS calls and API answers: what an earlier run recorded is gone before the first test. */
export default function setup(): void {
  for (const folder of [RECORDED_CALLS, RECORDED_ANSWERS]) rmSync(folder, { recursive: true, force: true });
}
