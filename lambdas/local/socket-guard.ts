import diagnostics_channel from 'node:diagnostics_channel';
import type net from 'node:net';

/**
 * The guard's state lives on the diagnostics channel, which is one object per process even when
 * this module is loaded more than once (as jest does, once per test file): one subscription per
 * process, reporting through the console of whoever installed it last.
 */
const STATE = Symbol.for('courier-local.socket-guard');
type GuardedChannel = diagnostics_channel.Channel & { [STATE]?: { report: (line: string) => void } };

/**
 * Keeps one broken connection from ending the local stack. Node emits a socket's errors on the
 * socket, and an http.ClientRequest listens to them only while its request is in flight: a socket
 * that breaks after its response arrived has no listener left, and its 'error' ends the process.
 * That is how one request used to stop `npm start`: DynamoDB Local answered 413 to a 265 MB
 * PutItem without reading it, the SDK had its answer (the request failed with a 500), and the rest
 * of the body then hit the closed connection: EPIPE on the SDK's socket, unhandled, process gone.
 *
 * Every client socket this process opens (net.connect: the SDK's, fetch's, the pollers') gets one
 * more 'error' listener, which logs the error when no other listener handles it. The socket is
 * destroyed as usual; only the process survives. Installed by the local runner (main.ts and the
 * HTTP adapter), never on AWS.
 */
export function guardClientSockets(): void {
  const channel = diagnostics_channel.channel('net.client.socket') as GuardedChannel;
  const report = (line: string) => console.error(line);
  if (channel[STATE]) {
    channel[STATE].report = report;
    return;
  }
  const state = (channel[STATE] = { report });
  channel.subscribe((message) => {
    const socket = (message as { socket: net.Socket }).socket;
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // Another listener (the request still in flight) handles it.
      if (socket.listenerCount('error') > 1) return;
      const peer = socket.remoteAddress ? ` to ${socket.remoteAddress}:${socket.remotePort}` : '';
      state.report(`[local] connection${peer} failed after its request ended (${e.code ?? e.message}): dropped, the stack keeps running`);
    });
  });
}
