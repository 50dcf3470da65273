import { createHash, randomUUID } from 'node:crypto';
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { OutboxEntry, SiemOutbox } from '../../shared/ports.ts';
import { batchGet, batchWrite } from './batch.ts';
import { conditionalWrite, getItem, idSortKey, putIfAbsent, queryAll, queryPage, withoutKeys, type Item, type Table } from './table.ts';

const outboxPk = (sink: string) => `OUTBOX#${sink}`;
const deadKey = (sink: string, e: Pick<OutboxEntry, 'createdAt' | 'id'>) => ({ pk: `SIEMDLQ#${sink}`, sk: `${e.createdAt}#${idSortKey(e.id)}` });
/** An entry's identity: one event queued once (a copy queued again carries the same id and time). */
const entryKey = (e: Pick<OutboxEntry, 'createdAt' | 'id'>) => `${e.createdAt}\n${e.id}`;
/** Entries one page holds at most, in bytes of JSON, each with room for a last error: DynamoDB items stop at 400 KB. */
const MAX_PAGE_BYTES = 300 * 1024;
/**
 * A rescheduled entry's last error, kept to this many characters: a page is rewritten in place
 * when its entries are rescheduled, each then carrying the error, so each was given room for one
 * when the page was made (up to 3 UTF-8 bytes a character, and its name).
 */
const MAX_ERROR_CHARS = 200;
const ERROR_ROOM_BYTES = 3 * MAX_ERROR_CHARS + 16;
/**
 * Pages a read asks for first, and at most: a page holds an export's entries (up to a batch of
 * a thousand), so the first few usually hold what a flush wants, and reading every page of a
 * backlog (DynamoDB's 1 MB a query) for them would parse a megabyte a flush. A backlog of
 * one-event exports is many small pages: each further query asks for four times as many.
 */
const FIRST_PAGES = 2;
const PAGES_PER_QUERY = 512;
/** Tries of a page's rewrite that another writer's rewrite came before (a flusher whose lease ran out). */
const REWRITE_ATTEMPTS = 5;

interface Page {
  sk: string;
  /**
   * A token each write of the page makes anew (earlier versions counted writes instead): a
   * rewrite is conditional on the one it read, and no two writes of a page share one, so a page
   * queued again or rewritten elsewhere is never taken for the content this process saw.
   */
  version: string | number;
  /** An item an earlier version wrote: it has no version. */
  legacy?: boolean;
  entries: OutboxEntry[];
}

/** A page as stored; an item an earlier version wrote (one entry each) is a page of one. */
function toPage(item: Item): Page {
  if (typeof item.entriesJson === 'string') return { sk: String(item.sk), version: (item.version as string | number | undefined) ?? 0, entries: JSON.parse(item.entriesJson) };
  return { sk: String(item.sk), version: 0, legacy: true, entries: [withoutKeys<OutboxEntry>(item)] };
}

/**
 * Past the key of every page that may hold an entry queued at `createdAt` or before: a page is
 * named by its oldest entry's time and `#` (an earlier version's item by its entry's), the oldest
 * sorts at or before `createdAt`, and when `createdAt` is of ISO_TIME_CHARACTERS (all above `#`,
 * one byte each) a name that is a prefix of it, or sorts before it, sorts below it and `$`.
 */
const listingBound = (createdAt: string) => `${createdAt}$`;
/** What an ISO 8601 time is written with, and more: printable ASCII above `#`. The exporter writes toISOString's. */
const ISO_TIME_CHARACTERS = /^[\x24-\x7e]+$/;

/** Entries in pages of at most MAX_PAGE_BYTES, at least one entry each. */
function paged(entries: OutboxEntry[]): OutboxEntry[][] {
  const pages: OutboxEntry[][] = [];
  let bytes = Infinity;
  for (const e of entries) {
    // DynamoDB counts a string's UTF-8 bytes: a character of most scripts outside Latin is three.
    const size = Buffer.byteLength(JSON.stringify({ ...e, lastError: undefined })) + ERROR_ROOM_BYTES;
    if (bytes + size > MAX_PAGE_BYTES) pages.push([]), (bytes = 0);
    pages[pages.length - 1].push(e);
    bytes += size;
  }
  return pages;
}

/** A new page's name: its oldest entry's time, its place among the pages of its export, and a digest of its entries. */
function pageSk(entries: OutboxEntry[], index: number): string {
  const oldest = entries.reduce((min, e) => (e.createdAt < min ? e.createdAt : min), entries[0].createdAt);
  const digest = createHash('sha256').update(entries.map(entryKey).join('\n')).digest('hex').slice(0, 32);
  return `${oldest}#${String(index).padStart(4, '0')}#${digest}`;
}

/**
 * Per-sink outboxes and dead letters in the table. An outbox is a run of pages, each the entries
 * one export queued (one item, however many events: the durable path writes a page per batch, not
 * an item per event), named by its oldest entry's time and a digest of its entries, so queuing
 * the same entries again writes the same page. Entries are read oldest page first, a few pages at
 * a time; one queued twice in different pages (a batch the queue redelivered in another make-up)
 * is read once and removed from both. Only the sink's flusher, under its lease, rewrites a page.
 */
export class DynamoSiemOutbox implements SiemOutbox {
  /**
   * Per sink, the pages this process read last, by key: a flusher removes what it just read and
   * sent, and reads again only the pages that changed since (a keys-only listing names them).
   */
  private readonly lastRead = new Map<string, Map<string, Page>>();

  constructor(private readonly table: Table, private readonly sinks: () => string[]) {}

  async addAll(sink: string, entries: OutboxEntry[]): Promise<void> {
    await batchWrite(this.table, paged(entries).map((page, i) => ({ put: this.pageItem(sink, { sk: pageSk(page, i), version: randomUUID(), entries: page }) })));
  }

  /** A page as an item. */
  private pageItem(sink: string, page: Page): Item & { pk: string; sk: string } {
    return { pk: outboxPk(sink), sk: page.sk, version: page.version, entriesJson: JSON.stringify(page.entries) };
  }

  /** The outbox's pages, oldest first, until `enough` says the entries read so far (each once) suffice; and those entries. */
  private async pages(sink: string, enough: (entries: OutboxEntry[]) => boolean): Promise<{ pages: Page[]; entries: OutboxEntry[] }> {
    const out: Page[] = [];
    const seen = new Set<string>();
    const entries: OutboxEntry[] = [];
    let token: string | undefined;
    let limit = FIRST_PAGES;
    do {
      const page = await queryPage(this.table, { pkName: 'pk', pk: outboxPk(sink), limit, nextToken: token });
      limit = Math.min(PAGES_PER_QUERY, limit * 4);
      for (const p of page.items.map(toPage)) {
        out.push(p);
        entries.push(...p.entries.filter((e) => !seen.has(entryKey(e)) && seen.add(entryKey(e))));
      }
      token = page.nextToken;
    } while (token && !enough(entries));
    this.lastRead.set(sink, new Map(out.map((p) => [p.sk, p])));
    return { pages: out, entries };
  }

  /**
   * Every page that may hold an entry queued at `createdAt` or before, as it is now: the keys and
   * versions of those pages (a keys-only query), and the pages themselves from what this process
   * read last where the version is the same, read again where not. Eventually consistent, as the
   * outbox's other reads: a copy queued a moment ago may be missed, and is then sent again.
   */
  private async pagesUpTo(sink: string, createdAt: string): Promise<Page[]> {
    // Past a time of other characters, a page named by a prefix of it, or by characters UTF-16
    // and UTF-8 order differently, may sort past the bound: then every page is listed.
    const bound = ISO_TIME_CHARACTERS.test(createdAt) ? listingBound(createdAt) : undefined;
    const listed: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.table.doc.send(new QueryCommand({
        TableName: this.table.name, KeyConditionExpression: `pk = :p${bound ? ' AND sk < :hi' : ''}`, ExclusiveStartKey: start,
        ProjectionExpression: 'pk, sk, #v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':p': outboxPk(sink), ...(bound ? { ':hi': bound } : {}) },
      }));
      listed.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    // Taken from the view before anything is awaited: a rewrite in this process may change the view meanwhile.
    const known = this.lastRead.get(sink);
    const viewed = new Map<string, Page>();
    for (const item of listed) {
      const page = known?.get(String(item.sk));
      if (page && item.version !== undefined && page.version === item.version) viewed.set(page.sk, page);
    }
    const unread = listed.filter((i) => !viewed.has(String(i.sk))).map((i) => ({ pk: String(i.pk), sk: String(i.sk) }));
    const read = new Map((await batchGet(this.table, unread)).map((i) => [String(i.sk), toPage(i)]));
    return listed.flatMap((i) => [viewed.get(String(i.sk)) ?? read.get(String(i.sk))].filter((p) => p !== undefined));
  }

  /** Each queued entry once, oldest page first, from as many pages as `limit` entries passing `keep` need. */
  private async entries(sink: string, limit: number, keep: (e: OutboxEntry) => boolean): Promise<OutboxEntry[]> {
    const { entries } = await this.pages(sink, (read) => read.filter(keep).length >= limit);
    return entries.filter(keep).slice(0, limit);
  }

  peek(sink: string, limit: number): Promise<OutboxEntry[]> {
    return this.entries(sink, limit, () => true);
  }

  due(sink: string, now: Date, limit: number): Promise<OutboxEntry[]> {
    const at = now.toISOString();
    return this.entries(sink, limit, (e) => e.nextAttemptAt <= at);
  }

  remove(sink: string, entries: OutboxEntry[]): Promise<void> {
    return this.rewrite(sink, entries, () => undefined);
  }

  reschedule(sink: string, entries: OutboxEntry[]): Promise<void> {
    const next = new Map(entries.map((e) => [entryKey(e), { ...e, lastError: e.lastError?.slice(0, MAX_ERROR_CHARS) }]));
    return this.rewrite(sink, entries, (e) => next.get(entryKey(e)));
  }

  /**
   * Every page holding one of `entries` again (every copy: all pages that may hold one are
   * listed), each of those entries replaced by what `change` makes of it (removed if nothing); a
   * page left empty goes. A page another writer rewrote meanwhile is read again.
   */
  private async rewrite(sink: string, entries: OutboxEntry[], change: (e: OutboxEntry) => OutboxEntry | undefined): Promise<void> {
    const wanted = new Set(entries.map(entryKey));
    if (wanted.size === 0) return;
    const newest = entries.reduce((max, e) => (e.createdAt > max ? e.createdAt : max), entries[0].createdAt);
    for (let attempt = 0; wanted.size && attempt < REWRITE_ATTEMPTS; attempt++) {
      const pages = (await this.pagesUpTo(sink, newest)).filter((p) => p.entries.some((e) => wanted.has(entryKey(e))));
      const raced = await Promise.all(pages.map(async (p) => {
        const kept = p.entries.flatMap((e) => (wanted.has(entryKey(e)) ? [change(e)].filter((c) => c !== undefined) : [e]));
        // Conditions that hold only if the item is still there: a page another flusher deleted stays deleted.
        const expected = p.legacy
          ? { ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(version)' }
          : { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': p.version } };
        const next: Page = { sk: p.sk, version: randomUUID(), entries: kept };
        const written = kept.length
          ? await conditionalWrite(this.table, new PutCommand({ TableName: this.table.name, Item: this.pageItem(sink, next), ...expected }))
          : await conditionalWrite(this.table, new DeleteCommand({ TableName: this.table.name, Key: { pk: outboxPk(sink), sk: p.sk }, ...expected }));
        if (!written) return p.entries.filter((e) => wanted.has(entryKey(e))).map(entryKey);
        // What this process knows of the page is what it just wrote.
        const known = this.lastRead.get(sink);
        if (kept.length) known?.set(p.sk, next);
        else known?.delete(p.sk);
        return [];
      }));
      const again = new Set(raced.flat());
      for (const k of wanted) if (!again.has(k)) wanted.delete(k);
    }
    if (wanted.size) throw new Error(`the outbox of ${sink} kept changing under its flusher: ${wanted.size} entries not rewritten, tried again on the next flush`);
  }

  async pause(sink: string, until: Date): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { pk: `OUTBOXSTATE#${sink}`, sk: 'STATE', pausedUntil: until.toISOString() } }));
  }

  async pausedUntil(sink: string): Promise<Date | undefined> {
    const item = await getItem(this.table, { pk: `OUTBOXSTATE#${sink}`, sk: 'STATE' });
    return item?.pausedUntil ? new Date(String(item.pausedUntil)) : undefined;
  }

  /** Each entry a dead letter of its own (listed and replayed one by one), then out of the outbox. */
  async deadLetter(sink: string, entries: OutboxEntry[]): Promise<void> {
    for (const e of entries) await putIfAbsent(this.table, { ...e, sink, ...deadKey(sink, e) });
    await this.remove(sink, entries);
  }

  async deadLetters(sink?: string): Promise<(OutboxEntry & { sink: string })[]> {
    const names = sink ? [sink] : this.sinks();
    const all = await Promise.all(names.map(async (s) => (await queryAll(this.table, { pkName: 'pk', pk: `SIEMDLQ#${s}` })).map((i) => ({ ...withoutKeys<OutboxEntry>(i), sink: s }))));
    return all.flat();
  }

  async requeueDeadLetters(sink: string | undefined, now: Date): Promise<number> {
    const letters = await this.deadLetters(sink);
    // Someone asked for a replay: whatever hold the last failure put on the sinks is lifted.
    for (const s of sink ? [sink] : this.sinks()) await this.pause(s, now);
    for (const s of new Set(letters.map((l) => l.sink))) {
      const mine = letters.filter((l) => l.sink === s);
      await this.addAll(s, mine.map(({ sink: _s, ...entry }) => ({ ...entry, attempts: 0, nextAttemptAt: now.toISOString(), lastError: undefined })));
      await batchWrite(this.table, mine.map((l) => ({ delete: deadKey(s, l) })));
    }
    return letters.length;
  }
}
