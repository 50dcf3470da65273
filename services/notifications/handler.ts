import { eventHandler } from '../../adapters/eventbridge/event-handler.ts';
import { notificationsRuntime } from './runtime.ts';
import { notifyEvent } from './notify.ts';

const rt = notificationsRuntime;

/** The events people are told about (events/patterns.json `notifications`): each to the channels its routes choose. */
export const events = eventHandler(async (event) => {
  await notifyEvent(event, rt());
});
