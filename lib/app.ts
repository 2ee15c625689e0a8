import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { acknowledgeNagFindings } from './nag';
import { deployOptions } from './options';
import { NotificationsStack } from './stack';

/**
 * The CDK app: one stack per stage, its options read from CDK context (lib/options.ts), checked by
 * cdk-nag's AwsSolutions and ServerlessChecks packs on every synth.
 */
export function buildApp(props: AppProps = {}): { app: App; stack: NotificationsStack } {
  const app = new App(props);
  const options = deployOptions((name) => app.node.tryGetContext(name));
  const stack = new NotificationsStack(app, `Notifications-${options.stage}`, {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    options,
  });
  acknowledgeNagFindings(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));
  return { app, stack };
}
