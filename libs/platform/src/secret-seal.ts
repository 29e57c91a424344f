import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Inline secret values sealed for their trip through Kafka (AES-256-GCM): the scheduler seals
 * them before they reach `wharf.jobs.state`, `wharf.workflows.state` and `wharf.launch`;
 * job-launcher opens them to write the Job's owned Secret. Who can read those topics but does
 * not hold the key sees `wharf-sealed:v1:<key id>:<iv | ciphertext | tag>`.
 *
 * The associated data is the secret's name (its env var), so a sealed value cannot be moved
 * to another variable unnoticed. Sealing is deterministic (the IV is an HMAC of name and value,
 * as in SIV): the same secret seals to the same text, so a spec hashed after sealing keeps its
 * idempotency across submits and restarts, and the hash reveals nothing about the value. Two
 * equal values of one name are equal when sealed; nothing else is revealed.
 */
export const sealedPrefix = 'wharf-sealed:v1:';

/** A sealed value that cannot be opened: no key, another key, or tampered with. */
export class SealError extends Error {
  override readonly name = 'SealError';
}

export function isSealed(value: string): boolean {
  return value.startsWith(sealedPrefix);
}

/** The key id of a sealed value (8 hex: the start of the key's sha256), or undefined. */
export function sealedKeyId(value: string): string | undefined {
  if (!isSealed(value)) return undefined;
  return value.slice(sealedPrefix.length).split(':', 1)[0];
}

export class SecretSealer {
  /** First 8 hex of sha256(key): names the key without revealing it. */
  readonly keyId: string;

  private readonly encKey: Buffer;
  private readonly ivKey: Buffer;

  private constructor(key: Buffer) {
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
    this.encKey = createHmac('sha256', key).update('wharf-seal:v1:encrypt').digest();
    this.ivKey = createHmac('sha256', key).update('wharf-seal:v1:iv').digest();
  }

  /** A sealer of a 32-byte key. Thrown: SealError when the key has another length. */
  static fromKey(key: Buffer): SecretSealer {
    if (key.length !== 32) throw new SealError(`a seal key is 32 bytes, this one is ${key.length}`);
    return new SecretSealer(key);
  }

  /**
   * The key in `path`: 32 bytes as base64 or hex text (`openssl rand -base64 32`). Thrown:
   * SealError naming the file (never its content) when it is unreadable or not such a key.
   */
  static fromFile(path: string): SecretSealer {
    let text: string;
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch (error) {
      throw new SealError(
        `cannot read the seal key file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    const key = /^[0-9a-fA-F]{64}$/.test(text)
      ? Buffer.from(text, 'hex')
      : Buffer.from(text, 'base64');
    if (key.length !== 32) {
      throw new SealError(
        `the seal key file ${path} does not hold a 32-byte key as base64 or hex (make one with \`openssl rand -base64 32\`)`,
      );
    }
    return new SecretSealer(key);
  }

  /** `value` sealed for the secret `name`; an already sealed value is returned as it is. */
  seal(name: string, value: string): string {
    if (isSealed(value)) return value;
    const iv = createHmac('sha256', this.ivKey)
      .update(name)
      .update('\0')
      .update(value)
      .digest()
      .subarray(0, 12);
    const cipher = createCipheriv('aes-256-gcm', this.encKey, iv);
    cipher.setAAD(Buffer.from(name, 'utf8'));
    const body = Buffer.concat([
      iv,
      cipher.update(value, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `${sealedPrefix}${this.keyId}:${body.toString('base64url')}`;
  }

  /**
   * The plain value of the secret `name`; a value that is not sealed is returned as it is.
   * Thrown: SealError (sealed with another key, or altered); its message never holds the value.
   */
  open(name: string, value: string): string {
    if (!isSealed(value)) return value;
    const keyId = sealedKeyId(value);
    if (keyId !== this.keyId) {
      throw new SealError(
        `secret ${name} is sealed with key ${keyId}, this service holds key ${this.keyId}`,
      );
    }
    const body = Buffer.from(value.slice(sealedPrefix.length + keyId.length + 1), 'base64url');
    if (body.length < 28) throw new SealError(`secret ${name}: the sealed value is truncated`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encKey, body.subarray(0, 12));
      decipher.setAAD(Buffer.from(name, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - 16));
      return Buffer.concat([
        decipher.update(body.subarray(12, body.length - 16)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SealError(
        `secret ${name}: the sealed value does not authenticate (altered, or sealed for another secret)`,
      );
    }
  }
}

/** Opens a sealed value with `sealer`; without one, a sealed value is an error that says so. */
export function openSecret(sealer: SecretSealer | undefined, name: string, value: string): string {
  if (!isSealed(value)) return value;
  if (!sealer) {
    throw new SealError(
      `secret ${name} is sealed with key ${sealedKeyId(value)}, and this service has no seal key (secrets.sealKeyFile)`,
    );
  }
  return sealer.open(name, value);
}
