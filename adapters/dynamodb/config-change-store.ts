import type { ConfigChange, ConfigChangeStore } from '../../shared/ports.ts';
import { putIfAbsent, getItem, isConditionFailure, queryAll, setFields, type Item, type Table } from './table.ts';

const PK = 'CONFIG';
const key = (changeId: string) => ({ pk: PK, sk: `CHANGE#${changeId}` });

const fromItem = ({ pk: _pk, sk: _sk, documentJson, diffJson, ...rest }: Item): ConfigChange =>
  ({ ...rest, document: JSON.parse(String(documentJson)), diff: JSON.parse(String(diffJson)) }) as ConfigChange;

/** Proposed configuration changes, in the configuration's partition (`CHANGE#<id>`): few, and kept as the record of who decided. */
export class DynamoConfigChangeStore implements ConfigChangeStore {
  constructor(private readonly table: Table) {}

  async propose({ document, diff, ...rest }: ConfigChange): Promise<void> {
    await putIfAbsent(this.table, { ...key(rest.changeId), ...rest, documentJson: JSON.stringify(document), diffJson: JSON.stringify(diff) });
  }

  async get(changeId: string): Promise<ConfigChange | undefined> {
    const item = await getItem(this.table, key(changeId));
    return item && fromItem(item);
  }

  async list(status?: ConfigChange['status']): Promise<ConfigChange[]> {
    const all = (await queryAll(this.table, { pkName: 'pk', pk: PK, skPrefix: 'CHANGE#' })).map(fromItem);
    return all.filter((c) => !status || c.status === status).sort((a, b) => b.proposedAt.localeCompare(a.proposedAt));
  }

  async decide(changeId: string, decision: { status: 'approving' | 'approved' | 'rejected'; decidedBy: string; decidedAt: string; comment?: string }, from: ConfigChange['status']): Promise<boolean> {
    try {
      await setFields(this.table, key(changeId), decision, [], { status: from });
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}
