import { eventHandler } from '../../adapters/eventbridge/event-handler.ts';
import { runtime } from '../../adapters/runtime.ts';
import { NdjsonFileSink } from '../../adapters/siem/ndjson-file-sink.ts';
import { exportEvent } from './export-event.ts';

const rt = () => runtime(process.env);
let sink: NdjsonFileSink | undefined;

export const events = eventHandler(async (event) => {
  sink ??= new NdjsonFileSink(rt().config.siemFile);
  await exportEvent(event, { processed: rt().processed, sink });
});
