// Imported first by the provider tests whose stand-in servers listen on 127.0.0.1: the adapters
// refuse private addresses unless ALLOW_PRIVATE_EGRESS is set when their configuration loads, as
// the local stack sets it for its functions.
process.env.ALLOW_PRIVATE_EGRESS = 'true';
