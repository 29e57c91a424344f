import { Metadata } from '@grpc/grpc-js';
import { UnauthenticatedError } from './errors';
import { bearerToken, tokenAuthenticator } from './grpc-server';

describe('tokenAuthenticator', () => {
  const authenticate = tokenAuthenticator(new Map([['s3cret-a', 'team-a'], ['s3cret-b', 'team-b']]));

  it('maps a known token to its tenant', () => {
    expect(authenticate('s3cret-b')).toEqual({ tenant: 'team-b' });
  });

  it('rejects a missing or unknown token without echoing it', () => {
    expect(() => authenticate(undefined)).toThrow(UnauthenticatedError);
    let message = '';
    try {
      authenticate('s3cret-wrong');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('invalid bearer token');
    expect(message).not.toContain('s3cret');
  });
});

describe('bearerToken', () => {
  it('reads "authorization: Bearer <token>" case-insensitively', () => {
    const metadata = new Metadata();
    metadata.set('authorization', 'bearer abc.def');
    expect(bearerToken(metadata)).toBe('abc.def');
    expect(bearerToken(new Metadata())).toBeUndefined();
    const basic = new Metadata();
    basic.set('authorization', 'Basic dXNlcg==');
    expect(bearerToken(basic)).toBeUndefined();
  });
});
