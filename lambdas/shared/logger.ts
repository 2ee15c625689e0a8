import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured logger per function. Never pass it request headers, API keys, tokens, provider
 * settings or full recipient addresses: log ids and counts (see `redactEmail`).
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'notifications' });

/** `ada@example.com` -> `a***@example.com`, for the rare log line that must hint at an address. */
export function redactEmail(address: string): string {
  const at = address.indexOf('@');
  return at <= 0 ? '***' : `${address[0]}***${address.slice(at)}`;
}
