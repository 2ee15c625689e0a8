// Imported first by the local entry point: the AWS SDK warns once per process that its releases
// after January 2027 need Node 22; the local stack pins the SDK and runs on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
