// Runs the fauxqs SQS/SNS emulator as a child process of the local stack (its own core, its own
// event loop). Prints `{"port":N}` once listening; exits when the parent's stdin pipe closes, so
// the emulator never outlives the process that started it, even one killed with SIGKILL.
import { startFauxqs } from 'fauxqs';

const server = await startFauxqs({ port: Number(process.env.FAUXQS_PORT ?? 0), logger: false });
process.stdout.write(JSON.stringify({ port: server.port }) + '\n');
const stop = () => server.stop().finally(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
