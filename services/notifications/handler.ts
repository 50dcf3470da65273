import { eventHandler } from '../../adapters/eventbridge/event-handler.ts';
import { lambda } from '../../adapters/lambda.ts';
import { notificationsRuntime } from './runtime.ts';
import { notifyEvent, sendDigests } from './notify.ts';

const rt = notificationsRuntime;

/** The events people are told about (events/patterns.json `notifications`): each to the channels its routes choose. */
export const events = eventHandler(async (event) => {
  await notifyEvent(event, rt());
});

/** Scheduled, daily: the digests of the routes that ask for one (`delivery: daily`). */
export const digest = lambda(async () => sendDigests(rt()));
