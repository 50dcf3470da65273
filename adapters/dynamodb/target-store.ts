import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { TargetStore } from '../../shared/ports.ts';
import type { Target } from '../../shared/model.ts';
import { getItem, queryPage, withoutKeys, type Table } from './table.ts';

const key = (name: string) => ({ pk: `TARGET#${name}`, sk: 'TARGET' });

export class DynamoTargetStore implements TargetStore {
  constructor(private readonly table: Table) {}

  async put(target: Target): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...target, ...key(target.name), gsi1pk: 'TARGETS', gsi1sk: target.name } }));
  }

  async get(name: string): Promise<Target | undefined> {
    const item = await getItem(this.table, key(name));
    return item && withoutKeys<Target>(item);
  }

  async list(): Promise<Target[]> {
    const targets: Target[] = [];
    let nextToken: string | undefined;
    do {
      const page = await queryPage(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'TARGETS', nextToken });
      targets.push(...page.items.map((i) => withoutKeys<Target>(i)));
      nextToken = page.nextToken;
    } while (nextToken);
    return targets;
  }
}
