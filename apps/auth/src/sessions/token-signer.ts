// The access-token signer from JWT_PRIVATE_KEY(_FILE). Its public key must be one that
// JWT_PUBLIC_KEY lists: auth verifies tokens like every other service, so a mismatch would only show
// up as every token being refused. Refuse to start instead, naming the variable.
import { ConfigError } from '@voip/kit/config';
import { createTokenSigner, loadPublicKeys, readPem, type TokenSigner } from '@voip/kit/jwt';

export interface SignerConfig {
  JWT_PRIVATE_KEY?: string | undefined;
  JWT_PRIVATE_KEY_FILE?: string | undefined;
  JWT_PUBLIC_KEY?: string | undefined;
  JWT_PUBLIC_KEY_FILE?: string | undefined;
}

export function loadTokenSigner(c: SignerConfig): TokenSigner {
  if (!c.JWT_PRIVATE_KEY && !c.JWT_PRIVATE_KEY_FILE)
    throw new ConfigError('JWT_PRIVATE_KEY', 'or JWT_PRIVATE_KEY_FILE is required but not set');
  let signer: TokenSigner;
  try {
    signer = createTokenSigner(readPem(c.JWT_PRIVATE_KEY, c.JWT_PRIVATE_KEY_FILE, 'JWT_PRIVATE_KEY'));
  } catch {
    throw new ConfigError(
      c.JWT_PRIVATE_KEY ? 'JWT_PRIVATE_KEY' : 'JWT_PRIVATE_KEY_FILE',
      'must hold a PEM EC P-256 (ES256) private key',
    );
  }
  const publicKeys = loadPublicKeys(c);
  if (!publicKeys.has(signer.kid))
    throw new ConfigError('JWT_PRIVATE_KEY', 'does not match any key in JWT_PUBLIC_KEY');
  return signer;
}
