import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSealed, openSecret, SealError, sealedKeyId, SecretSealer } from './secret-seal';

const key = Buffer.alloc(32, 7);
const canary = 'canary-7f3a9c-do-not-leak';

describe('SecretSealer', () => {
  const sealer = SecretSealer.fromKey(key);

  it('seals so that the value is not readable, and opens it again', () => {
    const sealed = sealer.seal('API_TOKEN', canary);
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain(canary);
    expect(sealedKeyId(sealed)).toBe(sealer.keyId);
    expect(sealer.open('API_TOKEN', sealed)).toBe(canary);
  });

  it('seals deterministically per name and value, and leaves sealed or plain values alone', () => {
    const a = sealer.seal('X', 'same');
    expect(sealer.seal('X', 'same')).toBe(a);
    expect(sealer.seal('Y', 'same')).not.toBe(a);
    expect(sealer.seal('X', 'other')).not.toBe(a);
    expect(SecretSealer.fromKey(Buffer.alloc(32, 9)).seal('X', 'same')).not.toBe(a);
    expect(sealer.seal('X', a)).toBe(a);
    expect(sealer.open('X', 'plain')).toBe('plain');
    expect(sealer.open('X', sealer.seal('X', ''))).toBe('');
    expect(sealer.open('X', sealer.seal('X', 'ünïcødé ✓'))).toBe('ünïcødé ✓');
  });

  it('refuses a value moved to another secret, altered, truncated or sealed with another key', () => {
    const sealed = sealer.seal('API_TOKEN', canary);
    expect(() => sealer.open('OTHER', sealed)).toThrow(/sealed for another secret/);
    const flipped = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'B' : 'A') + sealed.slice(-1);
    expect(() => sealer.open('API_TOKEN', flipped)).toThrow(SealError);
    expect(() => sealer.open('API_TOKEN', `wharf-sealed:v1:${sealer.keyId}:abc`)).toThrow(
      /truncated/,
    );
    const other = SecretSealer.fromKey(Buffer.alloc(32, 8));
    expect(() => other.open('API_TOKEN', sealed)).toThrow(
      new RegExp(`sealed with key ${sealer.keyId}, this service holds key ${other.keyId}`),
    );
  });

  it('says when a sealed value reaches a service without a key', () => {
    const sealed = sealer.seal('API_TOKEN', canary);
    expect(() => openSecret(undefined, 'API_TOKEN', sealed)).toThrow(/has no seal key/);
    expect(openSecret(undefined, 'API_TOKEN', 'plain')).toBe('plain');
    expect(openSecret(sealer, 'API_TOKEN', sealed)).toBe(canary);
  });

  it('never puts the value in an error', () => {
    const sealed = sealer.seal('API_TOKEN', canary);
    const errors: string[] = [];
    for (const attempt of [
      () => sealer.open('OTHER', sealed),
      () => SecretSealer.fromKey(Buffer.alloc(32, 1)).open('API_TOKEN', sealed),
      () => openSecret(undefined, 'API_TOKEN', sealed),
    ]) {
      try {
        attempt();
      } catch (error) {
        errors.push(String((error as Error).message));
      }
    }
    expect(errors).toHaveLength(3);
    for (const message of errors) expect(message).not.toContain(canary);
  });

  it('reads a key file as base64 or hex and names a bad file without its content', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seal-'));
    writeFileSync(join(dir, 'b64'), `${key.toString('base64')}\n`);
    writeFileSync(join(dir, 'hex'), key.toString('hex'));
    writeFileSync(join(dir, 'bad'), 'not-a-key-secretish');
    expect(SecretSealer.fromFile(join(dir, 'b64')).keyId).toBe(sealer.keyId);
    expect(SecretSealer.fromFile(join(dir, 'hex')).keyId).toBe(sealer.keyId);
    expect(() => SecretSealer.fromFile(join(dir, 'bad'))).toThrow(/does not hold a 32-byte key/);
    expect(() => SecretSealer.fromFile(join(dir, 'bad'))).not.toThrow(/secretish/);
    expect(() => SecretSealer.fromFile(join(dir, 'missing'))).toThrow(
      /cannot read the seal key file .*ENOENT/,
    );
    expect(() => SecretSealer.fromKey(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});
