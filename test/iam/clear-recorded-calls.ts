import { rmSync } from 'node:fs';
import { RECORDED_CALLS } from '../support/processes.ts';

/** A run records its own calls: what an earlier run recorded is gone before the first test. */
export default function setup(): void {
  rmSync(RECORDED_CALLS, { recursive: true, force: true });
}
