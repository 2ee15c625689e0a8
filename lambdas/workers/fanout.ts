import { fanoutJob } from '../shared/jobs';
import { sqsWorker } from '../shared/worker';
import { backfillAudience, cleanupTenant, reevaluateUser } from './directory-jobs';
import { expandSend } from './fanout-send';
import { checkRequest } from '../services/request-check';
import { checkExpoReceipts } from '../services/expo-receipts';
import { runStep } from './automation-run';

/**
 * The fan-out worker: short, resumable jobs. Directory jobs keep audiences materialised and clean
 * up deleted tenants; send jobs expand recipients page by page; expo-receipts jobs read the Expo
 * push receipts of a message sent through Expo; automation-step jobs advance an automation run a step.
 */
export const handler = sqsWorker(fanoutJob, async (job, record, context) => {
  switch (job.type) {
    case 'send':
      return expandSend(job, context);
    case 'check-request':
      return checkRequest(job, record.messageId);
    case 'audience-user':
      return reevaluateUser(job);
    case 'audience-backfill':
      return backfillAudience(job, record.messageId);
    case 'tenant-cleanup':
      return cleanupTenant(job, record.messageId);
    case 'expo-receipts':
      return checkExpoReceipts(job, record.messageId);
    case 'automation-step':
      return runStep(job);
  }
});
