import { createPublicKey } from 'node:crypto';
import type { AcmeServerStore } from '../../../shared/acme-server.ts';
import type { RequestStore } from '../../../shared/ports.ts';
import { parseCertificate } from '../../../shared/x509/parse-certificate.ts';
import { recordOf } from '../../../shared/x509/certificate-record.ts';
import { REVOCATION_REASONS, type RevocationReason } from '../../../shared/x509/crl-builder.ts';
import { revoke, type RevocationDeps } from '../revoke-certificates.ts';
import type { SignedRequest } from './jws.ts';
import { requesterOf } from './orders.ts';
import { AcmeProblem } from './problems.ts';

export interface AcmeRevocationDeps extends RevocationDeps {
  acmeStore: AcmeServerStore;
  requests: Pick<RequestStore, 'get'>;
}

/** RFC 5280 5.3.1 codes an ACME client may give; certificateHold and removeFromCRL undo nothing here (certops' revocations are final). */
function reasonOf(code: unknown): RevocationReason {
  if (code === undefined) return 'unspecified';
  const name = (Object.keys(REVOCATION_REASONS) as RevocationReason[]).find((r) => REVOCATION_REASONS[r] === code);
  if (!name || name === 'certificateHold' || name === 'removeFromCRL') throw new AcmeProblem('badRevocationReason', `reason ${JSON.stringify(code)} is not an RFC 5280 reason code certops revokes for (0-5, 9, 10)`);
  return name;
}

/**
 * revokeCert (RFC 8555 7.6): signed by the account that ordered the certificate, or by the
 * certificate's own key (jwk). The revocation is certops' own (at the CA, then the inventory,
 * then certificate.revoked), by the account or the key holder.
 */
export async function revokeCertificate(req: SignedRequest, deps: AcmeRevocationDeps): Promise<void> {
  const der = typeof req.payload?.certificate === 'string' && /^[A-Za-z0-9_-]+$/.test(req.payload.certificate) ? Buffer.from(req.payload.certificate, 'base64url') : undefined;
  if (!der) throw new AcmeProblem('malformed', 'certificate must be the base64url DER of the certificate to revoke');
  let parsed: ReturnType<typeof parseCertificate>;
  try {
    parsed = parseCertificate(der);
  } catch (err) {
    throw new AcmeProblem('malformed', (err as Error).message);
  }
  const reason = reasonOf(req.payload!.reason);
  const record = recordOf(parsed);
  const [id] = await deps.certificates.idsByIssuerSerial([{ issuer: record.issuer, serialNumber: record.serialNumber }]);
  const cert = id ? await deps.certificates.get(id) : undefined;
  if (!cert || !cert.issuerBackend || cert.fingerprintSha256 !== record.fingerprintSha256) throw new AcmeProblem('unauthorized', 'certops did not issue this certificate');
  let revokedBy: string;
  if (req.account) {
    const request = cert.requestId ? await deps.requests.get(cert.requestId) : undefined;
    if (request?.requestedBy !== requesterOf(req.account)) throw new AcmeProblem('unauthorized', 'this account did not order this certificate');
    revokedBy = requesterOf(req.account);
  } else {
    const spki = createPublicKey({ key: req.jwk!, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    if (!Buffer.from(parsed.spkiDer).equals(spki)) throw new AcmeProblem('unauthorized', 'the request is signed neither by an account nor by the certificate\'s key');
    revokedBy = 'acme:certificate-key';
  }
  if (cert.status === 'revoked' && !(reason === 'keyCompromise' && cert.revocationReason !== 'keyCompromise')) throw new AcmeProblem('alreadyRevoked', `the certificate was revoked at ${cert.revokedAt}`);
  await revoke(cert, reason, revokedBy, deps);
}
