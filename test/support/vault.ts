import { join } from 'node:path';
import { BuiltInCa } from '../../adapters/built-in-ca.ts';
import { DynamoAuthorityStore } from '../../adapters/dynamodb/authority-store.ts';
import { DynamoIssuanceJournal } from '../../adapters/dynamodb/issuance-journal.ts';
import { DynamoRevocationStore } from '../../adapters/dynamodb/revocation-store.ts';
import type { Table } from '../../adapters/dynamodb/table.ts';
import { MasterKeyDataKeys } from '../../adapters/local/master-key-data-keys.ts';
import { SealedKeyVault } from '../../adapters/vault/sealed-key-vault.ts';
import type { Clock } from '../../shared/ports.ts';

/** The local runtime's vault: keys sealed in `table`, data keys wrapped by `home`/master.key. */
export async function localVault(table: Table, home: string): Promise<SealedKeyVault> {
  return new SealedKeyVault(table, await MasterKeyDataKeys.open(join(home, 'master.key')));
}

/** The built-in CA kept in `table`, as the local runtime opens it. */
export async function openBuiltInCa(table: Table, home: string, clock: Clock = { now: () => new Date() }, baseUrl = 'http://127.0.0.1:8080'): Promise<BuiltInCa> {
  return BuiltInCa.open({ authorities: new DynamoAuthorityStore(table), vault: await localVault(table, home), baseUrl, clock, revocations: new DynamoRevocationStore(table), journal: new DynamoIssuanceJournal(table) });
}
