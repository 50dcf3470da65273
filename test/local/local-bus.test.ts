import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDeadLetterStore } from '../../adapters/dynamodb/dead-letter-store.ts';
import { DynamoBusLedger } from '../../adapters/dynamodb/bus-ledger.ts';
import { BatchItemFailures, LocalBus, type EventBridgeEvent } from '../../local/local-bus.ts';
import { eventSchemaValidator } from '../../local/event-schemas.ts';
import { freshTable } from '../support/dynamo.ts';

describe('local bus', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let deadLetters: DynamoDeadLetterStore;
  let ledger: DynamoBusLedger;
  beforeAll(async () => {
    db = await freshTable();
    deadLetters = new DynamoDeadLetterStore(db.table);
    ledger = new DynamoBusLedger(db.table);
  });
  afterAll(() => db.close());

  const clock = { now: () => new Date('2026-11-26T12:00:00Z') };
  const entry = (detailType: string, detail: object, source = 'com.example.test') => ({ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'certops-test' });

  function bus(invoke: (fn: string, e: EventBridgeEvent) => Promise<unknown>, maxAttempts = 3, concurrency?: number) {
    return new LocalBus({
      busName: 'certops-test',
      rules: [
        { name: 'greetings', fn: 'greeter', pattern: { 'detail-type': ['hello'] } },
        { name: 'everything-from-test', fn: 'auditor', pattern: { source: [{ prefix: 'com.example.' }] } },
      ],
      invoke: (fn, [e]) => invoke(fn, e), deadLetters, ledger, clock, maxAttempts, retryDelayMs: 5, concurrency,
      validate: eventSchemaValidator(),
    });
  }

  it('runs at most `concurrency` invocations of a function at once, each function on its own, and delivers every event', async () => {
    const running = new Map<string, number>();
    const most = new Map<string, number>();
    const delivered: string[] = [];
    const b = bus(async (fn, e) => {
      running.set(fn, (running.get(fn) ?? 0) + 1);
      most.set(fn, Math.max(most.get(fn) ?? 0, running.get(fn)!));
      await new Promise((r) => setTimeout(r, 5));
      running.set(fn, running.get(fn)! - 1);
      delivered.push(`${fn}:${(e.detail as { n: number }).n}`);
    }, 3, 2);
    for (let i = 0; i < 3; i++) await b.putEvents(Array.from({ length: 10 }, (_, k) => entry('hello', { n: i * 10 + k })));
    await b.drain();
    expect(Object.fromEntries(most)).toEqual({ greeter: 2, auditor: 2 });
    expect(delivered.filter((d) => d.startsWith('greeter:'))).toHaveLength(30);
    expect(delivered.filter((d) => d.startsWith('auditor:'))).toHaveLength(30);
  });

  it('delivers asynchronously to every rule whose pattern matches, in EventBridge event form', async () => {
    const seen: [string, EventBridgeEvent][] = [];
    const b = bus(async (fn, e) => void seen.push([fn, e]));
    const answer = await b.putEvents([entry('hello', { n: 1 }), entry('bye', { n: 2 })]);
    expect(answer.FailedEntryCount).toBe(0);
    expect(seen).toHaveLength(0); // nothing is delivered before PutEvents returns
    await b.drain();
    expect(seen.map(([fn, e]) => `${fn}:${e['detail-type']}`).sort()).toEqual(['auditor:bye', 'auditor:hello', 'greeter:hello']);
    const [, event] = seen.find(([fn]) => fn === 'greeter')!;
    expect(event).toMatchObject({ version: '0', source: 'com.example.test', 'detail-type': 'hello', time: '2026-11-26T12:00:00Z', detail: { n: 1 } });
    expect(event.id).toBe((answer.Entries[0] as { EventId: string }).EventId);
  });

  it('retries a failing consumer with backoff and delivers once it recovers', async () => {
    let calls = 0;
    const b = bus(async (fn) => {
      if (fn !== 'greeter') return;
      if (++calls < 3) throw new Error('not yet');
    });
    // Each retry is scheduled in the ledger (the clock stands still): the delay doubles.
    const scheduled: number[] = [];
    const reschedule = ledger.reschedule.bind(ledger);
    ledger.reschedule = async (d) => {
      if (d.rule === 'greetings') scheduled.push(Date.parse(d.nextAttemptAt) - clock.now().getTime());
      return reschedule(d);
    };
    try {
      await b.putEvents([entry('hello', {})]);
      await b.drain();
    } finally {
      ledger.reschedule = reschedule;
    }
    expect(calls).toBe(3);
    expect(scheduled).toEqual([5, 10]);
    expect((await deadLetters.list()).filter((l) => l.rule === 'greetings')).toHaveLength(0);
  });

  it('dead-letters an event after the last try, and replays it', async () => {
    let healthy = false;
    const delivered: unknown[] = [];
    const b = bus(async (fn, e) => {
      if (fn !== 'greeter') return;
      if (!healthy) throw new Error('consumer down');
      delivered.push(e.detail);
    });
    await b.putEvents([entry('hello', { order: 42 })]);
    await b.drain();
    const [letter] = (await deadLetters.list()).filter((l) => l.rule === 'greetings');
    expect(letter).toMatchObject({ rule: 'greetings', attempts: 3, error: 'consumer down', event: { detailType: 'hello', detail: { order: 42 } } });
    healthy = true;
    expect(await b.replay(letter.id)).toBe(true);
    await b.drain();
    expect(delivered).toEqual([{ order: 42 }]);
    expect((await deadLetters.list()).filter((l) => l.rule === 'greetings')).toHaveLength(0);
    expect(await b.replay('no-such-letter')).toBe(false);
  });

  it('refuses malformed entries per entry, like PutEvents, and certops events that break their schema', async () => {
    const b = bus(async () => undefined);
    const answer = await b.putEvents([
      entry('hello', {}),
      { Source: 'com.example.test', DetailType: 'hello', Detail: '{not json' },
      { Source: 'com.example.test', DetailType: 'hello', Detail: '[1,2]' },
      { Source: 'com.example.test', DetailType: 'hello', Detail: '{}', EventBusName: 'someone-elses-bus' },
      entry('renewal.failed', { eventId: 'e', occurredAt: '2026-11-26T12:00:00Z', correlationId: 'c' }, 'certops.renewal'),
    ]);
    expect(answer.FailedEntryCount).toBe(4);
    expect(answer.Entries.map((e) => ('ErrorMessage' in e ? e.ErrorMessage : 'ok'))).toEqual([
      'ok', 'Detail is not valid JSON', 'Detail must be a JSON object', 'no event bus someone-elses-bus (this is certops-test)', expect.stringMatching(/renewal\.failed does not match .*step/),
    ]);
    await expect(b.putEvents([])).rejects.toThrow(/Entries/);
    await b.drain();
  });

  it('dead-letters an event whose detail has keys like constructor and __proto__, and a dead-letter store that fails takes nothing down', async () => {
    const hostile = JSON.parse('{"constructor":"x","__proto__":{"polluted":true},"toString":1,"hasOwnProperty":[]}');
    const b = bus(async (fn) => {
      if (fn === 'greeter') throw new Error('consumer down');
    });
    await b.putEvents([entry('hello', hostile)]);
    await b.drain();
    const letter = (await deadLetters.list()).find((l) => l.rule === 'greetings' && Object.hasOwn(l.event.detail, 'constructor'));
    expect(letter?.event.detail).toEqual(hostile);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const errors: string[] = [];
    const broken = new LocalBus({
      busName: 'certops-test', rules: [{ name: 'greetings', fn: 'greeter', pattern: { 'detail-type': ['hello'] } }],
      invoke: async () => {
        throw new Error('consumer down');
      },
      deadLetters: { put: async () => { throw new Error('table unreachable'); }, list: async () => [], remove: async () => undefined },
      ledger, clock, maxAttempts: 2, retryDelayMs: 1, onError: (_rule, err) => errors.push((err as Error).message),
    });
    await broken.putEvents([entry('hello', hostile)]);
    await broken.drain();
    expect(errors.at(-1)).toMatch(/could not be dead-lettered either: table unreachable/);
  });

  it('keeps what it accepted through a crash: a new bus on the same ledger delivers it, and one dead-letter write that failed stays owed', async () => {
    const rules = [{ name: 'durable', fn: 'keeper', pattern: { 'detail-type': ['kept'] } }];
    // The first process accepts the events and dies before its consumer takes them (it never answers).
    const dying = new LocalBus({ busName: 'certops-test', rules, invoke: () => new Promise(() => undefined), deadLetters, ledger, clock, maxAttempts: 3, retryDelayMs: 5 });
    const answer = await dying.putEvents([entry('kept', { n: 1 }), entry('kept', { n: 2 })]);
    const ids = answer.Entries.map((e) => (e as { EventId: string }).EventId);
    expect((await ledger.pending()).filter((d) => ids.includes(d.eventId))).toHaveLength(2);
    const delivered: unknown[] = [];
    const next = new LocalBus({ busName: 'certops-test', rules, invoke: async (_fn, [e]) => void delivered.push(e.detail), deadLetters, ledger, clock, maxAttempts: 3, retryDelayMs: 5 });
    expect(await next.resume()).toBeGreaterThanOrEqual(2);
    await next.drain();
    expect(delivered).toEqual(expect.arrayContaining([{ n: 1 }, { n: 2 }]));
    expect((await ledger.pending()).filter((d) => ids.includes(d.eventId))).toEqual([]);
  });

  it('keeps one ledger item per PutEvents call naming the rules each event is still owed; a crash between two settlements delivers the events again to both, then they leave the ledger', async () => {
    const rules = [
      { name: 'quick', fn: 'quick', pattern: { 'detail-type': ['twice'] } },
      { name: 'stuck', fn: 'stuck', pattern: { 'detail-type': ['twice'] } },
    ];
    const taken: string[] = [];
    const dying = new LocalBus({
      busName: 'certops-test', rules, deadLetters, ledger: new DynamoBusLedger(db.table), clock, maxAttempts: 3, retryDelayMs: 5,
      invoke: (fn) => (fn === 'quick' ? Promise.resolve(void taken.push(fn)) : new Promise(() => undefined)),
    });
    const [put, second] = (await dying.putEvents([entry('twice', { n: 1 }), entry('twice', { n: 2 })])).Entries as { EventId: string }[];
    await new Promise((r) => setTimeout(r, 50));
    expect(taken).toEqual(['quick', 'quick']);
    const items = (await db.table.doc.send(new QueryCommand({ TableName: db.table.name, KeyConditionExpression: 'pk = :pk AND sk = :sk', ExpressionAttributeValues: { ':pk': 'DELIVERY', ':sk': put.EventId } }))).Items!;
    expect(items).toHaveLength(1);
    expect(Object.keys(items[0].events).sort()).toEqual([put.EventId, second.EventId].sort());
    expect(Object.keys(items[0].events[second.EventId].rules).sort()).toEqual(['quick', 'stuck']);
    // The next process (a ledger of its own, nothing in memory) owes both rules the event, and settles it.
    const delivered: string[] = [];
    const restarted = new DynamoBusLedger(db.table);
    const next = new LocalBus({ busName: 'certops-test', rules, invoke: async (fn, [e]) => void (e.id === put.EventId && delivered.push(fn)), deadLetters, ledger: restarted, clock, maxAttempts: 3, retryDelayMs: 5 });
    await next.resume();
    await next.drain();
    expect(delivered.sort()).toEqual(['quick', 'stuck']);
    expect((await restarted.pending()).filter((d) => d.eventId === put.EventId || d.eventId === second.EventId)).toEqual([]);
    expect((await db.table.doc.send(new QueryCommand({ TableName: db.table.name, KeyConditionExpression: 'pk = :pk AND sk = :sk', ExpressionAttributeValues: { ':pk': 'DELIVERY', ':sk': put.EventId } }))).Items).toEqual([]);
  });

  it('keeps a retry\'s tries in its event\'s place in the call\'s item, for the next process to resume from', async () => {
    const event = (id: string) => JSON.stringify({ version: '0', id, 'detail-type': 'x', source: 's', account: '0', time: '2026-11-26T12:00:00Z', region: 'local', resources: [], detail: {} });
    await ledger.accept(['e1', 'e2'].flatMap((id) => ['r1', 'r2'].map((rule) => ({ rule, eventId: id, eventJson: event(id), attempts: 0, nextAttemptAt: '2026-11-26T12:00:00.000Z' }))));
    await ledger.reschedule({ rule: 'r2', eventId: 'e2', eventJson: event('e2'), attempts: 2, nextAttemptAt: '2026-11-26T12:05:00.000Z' });
    await ledger.settle('e1', 'r1');
    const owed = await new DynamoBusLedger(db.table).pending();
    expect(owed.map((d) => [d.eventId, d.rule, d.attempts])).toEqual([['e1', 'r1', 0], ['e1', 'r2', 0], ['e2', 'r1', 0], ['e2', 'r2', 2]]);
    for (const [id, rule] of [['e1', 'r2'], ['e2', 'r1'], ['e2', 'r2']]) await ledger.settle(id, rule);
    expect(await new DynamoBusLedger(db.table).pending()).toEqual([]);
    // An item of the ledger before groups (one per event) is resumed, and a retry of it keeps its tries too.
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { pk: 'DELIVERY', sk: 'e3', eventId: 'e3', eventJson: event('e3'), rules: { r1: { attempts: 1, nextAttemptAt: '2026-11-26T12:00:00.000Z' } } } }));
    const upgraded = new DynamoBusLedger(db.table);
    expect((await upgraded.pending()).map((d) => [d.eventId, d.rule, d.attempts])).toEqual([['e3', 'r1', 1]]);
    await upgraded.reschedule({ rule: 'r1', eventId: 'e3', eventJson: event('e3'), attempts: 2, nextAttemptAt: '2026-11-26T12:10:00.000Z' });
    expect((await new DynamoBusLedger(db.table).pending()).map((d) => [d.eventId, d.rule, d.attempts])).toEqual([['e3', 'r1', 2]]);
  });

  it('resumes what an earlier version\'s ledger owed (an item per event and rule), in this version\'s items, and removes the old ones', async () => {
    const rules = [
      { name: 'quick', fn: 'quick', pattern: { 'detail-type': ['twice'] } },
      { name: 'stuck', fn: 'stuck', pattern: { 'detail-type': ['twice'] } },
    ];
    const event = { version: '0', id: 'e-old', 'detail-type': 'twice', source: 'com.example.test', account: '0', time: '2026-11-26T12:00:00Z', region: 'local', resources: [], detail: { n: 7 } };
    for (const rule of ['quick', 'stuck']) {
      await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { pk: 'DELIVERY', sk: `e-old#${rule}`, rule, eventId: 'e-old', eventJson: JSON.stringify(event), attempts: 1, nextAttemptAt: '2026-11-26T12:00:00.000Z' } }));
    }
    // An upgrade that died between writing the new item and deleting the old ones left both: still one delivery per rule.
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { pk: 'DELIVERY', sk: 'e-old', eventId: 'e-old', eventJson: JSON.stringify(event), rules: { quick: { attempts: 1, nextAttemptAt: '2026-11-26T12:00:00.000Z' }, stuck: { attempts: 1, nextAttemptAt: '2026-11-26T12:00:00.000Z' } } } }));
    const delivered: string[] = [];
    const ledger = new DynamoBusLedger(db.table);
    const next = new LocalBus({ busName: 'certops-test', rules, invoke: async (fn, [e]) => void (e.id === 'e-old' && delivered.push(fn)), deadLetters, ledger, clock, maxAttempts: 3, retryDelayMs: 5 });
    await next.resume();
    await next.drain();
    expect(delivered.sort()).toEqual(['quick', 'stuck']);
    const left = (await db.table.doc.send(new QueryCommand({ TableName: db.table.name, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)', ExpressionAttributeValues: { ':pk': 'DELIVERY', ':sk': 'e-old' } }))).Items;
    expect(left).toEqual([]);
  });

  it('gathers a trickle of events into one batch within a whole-batch rule\'s batching window', async () => {
    const rules = [{ name: 'gathered', fn: 'writer', pattern: { 'detail-type': ['trickle'] }, wholeBatch: true, batchSize: 100, batchingWindowMs: 150 }];
    const batches: number[][] = [];
    const b = new LocalBus({ busName: 'certops-test', rules, deadLetters, ledger, clock, maxAttempts: 2, retryDelayMs: 5, invoke: async (_fn, events) => void batches.push(events.map((e) => e.detail.n as number)) });
    for (let n = 0; n < 5; n++) {
      await b.putEvents([entry('trickle', { n })]);
      await new Promise((r) => setTimeout(r, 10));
    }
    await b.drain();
    expect(batches).toEqual([[0, 1, 2, 3, 4]]);
  });

  it('delivers a whole-batch rule in batches of up to batchSize, `concurrency` at once, a failing batch tried again as it was and then dead-lettered while the rest go on', async () => {
    const rules = [{ name: 'trail', fn: 'writer', pattern: { 'detail-type': ['entry'] }, wholeBatch: true, batchSize: 4, concurrency: 2 }];
    const batches: number[][] = [];
    let running = 0;
    let most = 0;
    const b = new LocalBus({
      busName: 'certops-test', rules, deadLetters, ledger, clock, maxAttempts: 2, retryDelayMs: 5,
      invoke: async (_fn, events) => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 25));
        running--;
        const ns = events.map((e) => e.detail.n as number);
        batches.push(ns);
        if (ns.includes(6)) throw new Error('the writer refuses 6');
      },
    });
    for (let n = 0; n < 12; n++) await b.putEvents([entry('entry', { n })]);
    await b.drain();
    expect(most).toBe(2);
    expect(batches.every((batch) => batch.length <= 4)).toBe(true);
    expect(batches.some((batch) => batch.length > 1)).toBe(true);
    // The batch holding 6 went twice, as it was, then to the dead letters; every other event once.
    const failing = batches.filter((batch) => batch.includes(6));
    expect(failing).toEqual([failing[0], failing[0]]);
    const delivered = batches.filter((batch) => !batch.includes(6)).flat();
    expect([...delivered, ...failing[0]].sort((x, y) => x - y)).toEqual([...Array(12).keys()]);
    expect((await deadLetters.list()).filter((l) => l.rule === 'trail').map((l) => l.event.detail.n).sort()).toEqual([...failing[0]].sort());
    expect(await ledger.pending()).toEqual([]);
  });

  /** A bus with one whole-batch rule whose consumer answers each batch with the partial batch response `failed` gives (ids of its messages); the batches it got. */
  function partialResponder(name: string, maxAttempts: number, failed: (events: EventBridgeEvent[]) => string[]) {
    const rules = [{ name, fn: 'writer', pattern: { 'detail-type': [name] }, wholeBatch: true, batchSize: 10, batchingWindowMs: 50 }];
    const batches: number[][] = [];
    const b = new LocalBus({
      busName: 'certops-test', rules, deadLetters, ledger, clock, maxAttempts, retryDelayMs: 5,
      invoke: async (fn, events) => {
        batches.push(events.map((e) => e.detail.n as number));
        const ids = failed(events);
        if (ids.length) throw new BatchItemFailures(fn, events, new Set(ids));
      },
    });
    return { batches, put: (ns: number[]) => b.putEvents(ns.map((n) => entry(name, { n }))), drain: () => b.drain() };
  }
  const lettersOf = async (rule: string) => (await deadLetters.list()).filter((l) => l.rule === rule).map((l) => [l.event.detail.n, l.attempts]);

  it('tries again only the events a whole-batch consumer reported failed, as the queue deletes the others, and dead-letters those alone', async () => {
    const bus = partialResponder('partial', 3, (events) => events.filter((e) => e.detail.n === 3).map((e) => e.id));
    await bus.put([0, 1, 2, 3, 4]);
    await bus.drain();
    expect(bus.batches).toEqual([[0, 1, 2, 3, 4], [3], [3]]);
    expect(await lettersOf('partial')).toEqual([[3, 3]]);
    expect(await ledger.pending()).toEqual([]);
  });

  it('tries a whole batch again when its consumer\'s partial batch response names an id that is not in it, as Lambda does', async () => {
    const bus = partialResponder('unknown-id', 2, () => ['no-such-message']);
    await bus.put([0, 1]);
    await bus.drain();
    expect(bus.batches).toEqual([[0, 1], [0, 1]]);
    expect((await lettersOf('unknown-id')).sort()).toEqual([[0, 2], [1, 2]]);
  });

  it('sizes its ledger items in UTF-8 bytes, as DynamoDB does: a call of events in a three-byte script stays under 400 KB an item', async () => {
    const delivered: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const b = bus(async (fn, e) => {
      await held;
      if (fn === 'greeter') delivered.push(e.detail.n as number);
    });
    // Seven events of 21,000 three-byte characters: 441 KB in one ledger item if each were counted as two bytes a character.
    const answer = await b.putEvents(Array.from({ length: 7 }, (_, n) => entry('hello', { n, text: '証'.repeat(21_000) })));
    expect(answer.FailedEntryCount).toBe(0);
    const owed = (await db.table.doc.send(new QueryCommand({ TableName: db.table.name, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'DELIVERY' } }))).Items!;
    expect(owed.length).toBeGreaterThan(1);
    for (const item of owed) expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(400 * 1024);
    release();
    await b.drain();
    expect(delivered.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
