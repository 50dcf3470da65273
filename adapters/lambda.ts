import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { base } from './composition/base.ts';

/**
 * A Lambda handler (middy) that first brings this process's copy of the suite configuration up
 * to date (re-read from the table when older than CONFIG_MAX_AGE_MS), so every function acts on
 * the configuration in force, whichever execution environment runs it.
 */
export function lambda<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  return middy(handler).before(async () => {
    await base().configuration.refresh();
  });
}
