import { Aws } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { SOCKET } from '../lambdas/shared/topology';

export interface InboxSocketProps {
  /** The function behind every route (lambdas/http/<SOCKET.module>.ts). */
  fn: IFunction;
  rateLimit: number;
  burstLimit: number;
}

/**
 * The realtime inbox socket (README "The realtime inbox socket"): an API Gateway WebSocket API
 * whose `$connect`, `$disconnect` and `$default` routes go to one function (topology SOCKET), with
 * `$default`'s answer sent back to the client (a route response), on a throttled, auto-deployed
 * stage. Functions that push get its management URL and `execute-api:ManageConnections` on this
 * API's stage's `@connections` only (`grantPush`).
 */
export class InboxSocket extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  /** `wss://<api>.execute-api.<region>.amazonaws.com/<stage>`: a page's `apiUrls.inbox.webSocket`. */
  readonly url: string;
  /** `https://<api>.execute-api.<region>.amazonaws.com/<stage>`: where functions post to connections. */
  readonly managementUrl: string;

  constructor(scope: Construct, id: string, props: InboxSocketProps) {
    super(scope, id);
    const integration = new WebSocketLambdaIntegration('Integration', props.fn);
    const answers = (route: string) => route === SOCKET.answering;
    this.api = new WebSocketApi(this, 'Api', {
      description: "Courier-compatible notifications: the inbox's realtime socket (courier-js apiUrls.inbox.webSocket)",
      connectRouteOptions: { integration, returnResponse: answers('$connect') },
      disconnectRouteOptions: { integration, returnResponse: answers('$disconnect') },
      defaultRouteOptions: { integration, returnResponse: answers('$default') },
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: SOCKET.stage,
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
    });
    this.url = this.stage.url;
    this.managementUrl = this.stage.callbackUrl;
  }

  /** Lets `fn` post to and close this stage's connections, and tells it where (WEBSOCKET_MANAGEMENT_URL). */
  grantPush(fn: IFunction & { addEnvironment(key: string, value: string): unknown }): void {
    fn.addEnvironment('WEBSOCKET_MANAGEMENT_URL', this.managementUrl);
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: [`arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${this.api.apiId}/${SOCKET.stage}/*/@connections/*`],
      }),
    );
  }
}
