import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured logger per function. Never pass it request headers, API keys, tokens, provider
 * settings or recipient addresses: log ids and counts.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'notifications' });
