import { serializerFor } from './record-serializer';

describe('serializers', () => {
  it('bytes passes raw bytes and strings, rejects objects', () => {
    const bytes = serializerFor('bytes');
    const raw = Buffer.from([0xff, 0x00]);
    expect(bytes(raw)).toBe(raw);
    expect(bytes('é').toString()).toBe('é');
    expect(() => bytes({ a: 1 })).toThrow(/use serializer json/);
  });

  it('text checks UTF-8 and writes scalars as text', () => {
    const text = serializerFor('text');
    expect(text(Buffer.from('ok')).toString()).toBe('ok');
    expect(text(42).toString()).toBe('42');
    expect(() => text(Buffer.from([0xc3, 0x28]))).toThrow(/not valid UTF-8/);
    expect(() => text({})).toThrow(/use serializer json/);
  });

  it('json stringifies values and checks raw bytes without re-encoding them', () => {
    const json = serializerFor('json');
    expect(json({ a: [1, 'b'] }).toString()).toBe('{"a":[1,"b"]}');
    const raw = Buffer.from('{ "spaced" : true }');
    expect(json(raw)).toBe(raw);
    expect(() => json(Buffer.from('nope'))).toThrow(/not JSON/);
  });
});
