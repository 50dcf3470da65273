import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ExecutionStore } from '../../shared/ports.ts';
import { getItem, putIfAbsent, queryAll, setFields, type Table } from './table.ts';

const key = (name: string) => ({ pk: `EXEC#${name}`, sk: 'EXEC' });
const taskKey = (name: string, task: string) => ({ pk: `EXEC#${name}`, sk: `TASK#${task}` });

/**
 * Saga executions in the table: the execution item (its input as JSON text, its status; running
 * ones in a sparse index partition) and one item per completed task holding its output.
 */
export class DynamoExecutionStore implements ExecutionStore {
  constructor(private readonly table: Table) {}

  create(name: string, input: unknown, at: Date): Promise<boolean> {
    return putIfAbsent(this.table, { ...key(name), name, inputJson: JSON.stringify(input), status: 'RUNNING', startedAt: at.toISOString(), gsi1pk: 'EXECUTIONS_RUNNING', gsi1sk: `${at.toISOString()}#${name}` });
  }

  async running(): Promise<{ name: string; input: unknown }[]> {
    const items = await queryAll(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'EXECUTIONS_RUNNING' });
    return items.map((i) => ({ name: String(i.name), input: JSON.parse(String(i.inputJson)) }));
  }

  async taskResult(name: string, task: string): Promise<{ output: unknown } | undefined> {
    const item = await getItem(this.table, taskKey(name, task));
    return item && { output: item.outputJson === undefined ? undefined : JSON.parse(String(item.outputJson)) };
  }

  async saveTaskResult(name: string, task: string, output: unknown): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...taskKey(name, task), ...(output === undefined ? {} : { outputJson: JSON.stringify(output) }) } }));
  }

  async finish(name: string, status: 'SUCCEEDED' | 'FAILED', detail: unknown, at: Date): Promise<void> {
    await setFields(this.table, key(name), { status, detailJson: JSON.stringify(detail ?? null), finishedAt: at.toISOString(), gsi1pk: undefined, gsi1sk: undefined });
  }
}
