// One Lambda execution environment of the isolated local mode (CERTOPS_ISOLATE_FUNCTIONS=1): a
// process that loads one function's bundle, as Lambda does, and runs one invocation at a time.
// Messages in: { id, event }; out: 'ready', then { id, ok, result } or { id, ok: false, error: { name, message } }.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const [bundle, exportName] = process.argv.slice(2);
const handler = (await import(pathToFileURL(bundle).href))[exportName];
if (typeof handler !== 'function') throw new Error(`${bundle} does not export ${exportName}`);

process.on('message', ({ id, event }) => {
  const deadline = Date.now() + 900_000;
  const context = { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, awsRequestId: randomUUID(), getRemainingTimeInMillis: () => deadline - Date.now(), callbackWaitsForEmptyEventLoop: false };
  Promise.resolve()
    .then(() => handler(event, context))
    .then(
      (result) => process.send({ id, ok: true, result }),
      (err) => process.send({ id, ok: false, error: { name: err?.name ?? 'Error', message: err?.message ?? String(err) } }),
    );
});
// An environment outlives no stack: when the parent goes (killed, even), so does it.
process.on('disconnect', () => process.exit(1));
process.send('ready');
