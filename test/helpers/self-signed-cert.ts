/**
 * The tests' certificates come from the library's own generator
 * (src/tls/self-signed-cert.ts): an ECDSA P-256 self-signed certificate for
 * `localhost` and `127.0.0.1`, made at test time with node:crypto alone.
 * Clients trust it by passing it as `ca`, so tests verify the certificate
 * and the host name for real instead of turning verification off.
 *
 * The positional form (`createSelfSignedCert('localhost', '127.0.0.1')`) is
 * kept for the tests written before the generator moved into src/.
 */
import { createSelfSignedCert as create, type SelfSignedCert } from '../../src/tls/self-signed-cert.js';

export { integer } from '../../src/tls/der.js';
export { spkiSha256Of, type SelfSignedCert, type SelfSignedCertOptions } from '../../src/tls/self-signed-cert.js';

export function createSelfSignedCert(hostName = 'localhost', ip = '127.0.0.1'): SelfSignedCert {
  return create({ hostName, ip });
}
