import { App, RemovalPolicy, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeNagFindings } from './nag';
import { NotificationsStack } from './stack';

/** The CDK app: one stack per stage, checked by cdk-nag AwsSolutions on every synth. */
export function buildApp(props: AppProps = {}): { app: App; stack: NotificationsStack } {
  const app = new App(props);
  const stage = (app.node.tryGetContext('stage') as string | undefined) ?? 'dev';
  const stack = new NotificationsStack(app, `Notifications-${stage}`, {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    removalPolicy: String(app.node.tryGetContext('destroyOnRemoval')) === 'true' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });
  acknowledgeNagFindings(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
