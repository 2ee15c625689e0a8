import { Validations } from 'aws-cdk-lib';
import type { NotificationsStack } from './stack';

/**
 * Every cdk-nag AwsSolutions finding this app accepts, each with its reason. Anything not listed
 * here fails `cdk synth` and the cdk test.
 */
export function acknowledgeNagFindings(stack: NotificationsStack): void {
  Validations.of(stack.api).acknowledge({
    id: 'AwsSolutions-APIG4',
    reason:
      "Courier's API authenticates with `Authorization: Bearer <api key>`. Every API function checks the key's SHA-256 " +
      'against the hashed, revocable keys in the table before doing anything (lambdas/shared/middleware.ts apiKeyAuth), ' +
      'uncached so a revoked key is refused at once; GET /health is public by design and touches no data.',
  });
  const deliver = stack.workers.deliver;
  Validations.of(deliver).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'sns:Publish to a phone number (SMS) has no resource ARN to scope it to; the statement allows only sns:Publish.',
  });
  for (const kind of ['identity', 'configuration-set']) {
    Validations.of(deliver).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:*:<AWS::AccountId>:${kind}/*]`,
      reason: `ses:SendEmail is authorised per sending ${kind}; which verified identities a workspace sends from, and in which region, is configured at run time through /providers.`,
    });
  }
}
