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
    settings: settingsFrom(app.node.tryGetContext('settings')),
  });
  acknowledgeNagFindings(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}

/** `-c settings='{"MESSAGE_RETENTION_DAYS":"90"}'` (JSON text on the command line, an object in cdk.json). */
function settingsFrom(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('settings: expected a JSON object of setting names to values');
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}
