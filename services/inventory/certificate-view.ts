import type { StoredCertificate } from '../../shared/model.ts';

/** A certificate as the API shows it: the vault reference is internal and stays out. */
export function certificateView(c: StoredCertificate) {
  const { keyRef, ...view } = c;
  return { ...view, hasManagedKey: Boolean(keyRef) };
}
