import { ValidationError } from '../errors.ts';

/** An RFC 6962 MerkleTreeLeaf (version 0, timestamped_entry): what a log's get-entries returns in leaf_input. */
export interface LogLeaf {
  timestampMs: number;
  entryType: 'x509' | 'precert';
  /** x509: the certificate's DER; precert: the TBSCertificate's DER (poison extension already removed by the log). */
  der: Uint8Array;
  issuerKeyHash?: Uint8Array;
}

function uint24(b: Uint8Array, at: number): number {
  return (b[at] << 16) | (b[at + 1] << 8) | b[at + 2];
}

export function parseLeaf(leafInput: Uint8Array, field = 'leaf_input'): LogLeaf {
  if (leafInput.length < 15 || leafInput[0] !== 0 || leafInput[1] !== 0) throw new ValidationError(`${field} is not a v1 timestamped_entry leaf`, field);
  const view = new DataView(leafInput.buffer, leafInput.byteOffset, leafInput.byteLength);
  const timestampMs = Number(view.getBigUint64(2));
  const entryType = view.getUint16(10);
  let at = 12;
  let issuerKeyHash: Uint8Array | undefined;
  if (entryType === 1) {
    issuerKeyHash = leafInput.subarray(at, at + 32);
    at += 32;
  } else if (entryType !== 0) {
    throw new ValidationError(`${field} has unknown entry type ${entryType}`, field);
  }
  const len = uint24(leafInput, at);
  at += 3;
  if (at + len > leafInput.length) throw new ValidationError(`${field} is truncated`, field);
  return { timestampMs, entryType: entryType === 0 ? 'x509' : 'precert', der: leafInput.subarray(at, at + len), issuerKeyHash };
}
