import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { eventually } from '../eventually';
import { TcpProxy } from './tcp-proxy';

// An echo server on loopback stands in for Kafka or the apiserver: the proxy is pure plumbing.
let echo: Server;
let echoPort = 0;
beforeAll(async () => {
  echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  echoPort = (echo.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

function connect(port: number): Promise<{ socket: Socket; received: () => string }> {
  return new Promise((resolve) => {
    let data = '';
    const socket = createConnection({ host: '127.0.0.1', port }, () => resolve({ socket, received: () => data }));
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('error', () => undefined);
  });
}

describe('TcpProxy', () => {
  it('forwards both ways', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: echoPort });
    const { socket, received } = await connect(proxy.port);
    socket.write('hello');
    await eventually(() => expect(received()).toBe('hello'));
    socket.destroy();
    await proxy.stop();
  });

  it('cut() resets open connections and still accepts new ones', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: echoPort });
    const first = await connect(proxy.port);
    const closed = new Promise((resolve) => first.socket.once('close', resolve));
    await eventually(() => expect(proxy.connections).toBe(1));
    proxy.cut();
    await closed;
    const second = await connect(proxy.port);
    second.socket.write('again');
    await eventually(() => expect(second.received()).toBe('again'));
    second.socket.destroy();
    await proxy.stop();
  });

  it('stall() holds data back until resume()', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: echoPort });
    const { socket, received } = await connect(proxy.port);
    socket.write('before');
    await eventually(() => expect(received()).toBe('before'));
    proxy.stall();
    socket.write('-held');
    // Prove the stall: a round trip through an unstalled second proxy completes meanwhile.
    const control = await TcpProxy.start({ host: '127.0.0.1', port: echoPort });
    const probe = await connect(control.port);
    probe.socket.write('ping');
    await eventually(() => expect(probe.received()).toBe('ping'));
    expect(received()).toBe('before');
    proxy.resume();
    await eventually(() => expect(received()).toBe('before-held'));
    socket.destroy();
    probe.socket.destroy();
    await control.stop();
    await proxy.stop();
  });
});
