// Every test process: quiet SDK warnings and logs, and a table name so modules that read the
// configuration at load time can be imported by unit tests (which never reach the table).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.TABLE_NAME ??= 'unit-test-table';
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'local';
process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
