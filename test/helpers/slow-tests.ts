// Integration and CDK tests start servers, emulated queues and bundlers: allow them time.
jest.setTimeout(90_000);
