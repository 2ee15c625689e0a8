import { CorsHttpMethod, HttpApi, HttpMethod, HttpRoute, HttpRouteKey, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination as RestLogDestination,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Aws, Duration } from 'aws-cdk-lib';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_MAX_AGE_SECONDS } from '../lambdas/shared/cors';
import { Construct } from 'constructs';

const REST_STAGE = 'prod';

/** One route group: the first path segments it serves and the function behind them. */
export interface ApiRouteGroup {
  segments: string[];
  fn: IFunction;
  /** Only `GET /<segment>`, no API key (the health check)... */
  public?: boolean;
  /** ...and `GET /<segment>/{proxy+}` (the tracking links). */
  subpaths?: boolean;
  /** Also serves every request no other route takes (topology's `unmatched`). */
  unmatched?: boolean;
}

export interface NotificationsApiProps {
  kind: 'http' | 'rest';
  groups: ApiRouteGroup[];
  rateLimit: number;
  burstLimit: number;
  logRetention: RetentionDays;
  tracing: boolean;
  /** Origins whose pages may call the API (CORS_ALLOWED_ORIGINS: `['*']`, a list, or none). */
  corsOrigins: string[];
}

/**
 * Access log fields, one JSON object per request (the same fields for both kinds of API), so logs
 * can be queried with CloudWatch Logs Insights without parsing.
 */
const ACCESS_LOG_FIELDS: Record<string, string> = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  status: '$context.status',
  responseLength: '$context.responseLength',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
};

/**
 * The public API: an HTTP API (payload 2.0; the default) or a REST API (payload 1.0; what
 * LocalStack's community edition serves). Both have the same routes, `ANY /<segment>` and
 * `ANY /<segment>/{proxy+}` per group (and `GET /health`), a route for every other request (to the
 * health function, which answers Courier's 404), the same functions behind them, a
 * throttled stage and JSON access logs. The handlers accept both payload versions.
 */
export class NotificationsApi extends Construct {
  readonly url: string;
  /** The API construct itself (an HttpApi or a RestApi). */
  readonly api: HttpApi | RestApi;
  readonly metricServerErrors: IMetric;
  readonly metricRequests: IMetric;

  constructor(scope: Construct, id: string, props: NotificationsApiProps) {
    super(scope, id);
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    const period = Duration.minutes(5);
    if (props.kind === 'http') {
      const api = new HttpApi(this, 'Http', {
        createDefaultStage: false,
        description: 'Courier-compatible notifications API',
        // API Gateway answers preflights itself and sets these headers on every answer (the functions' own are ignored).
        corsPreflight: props.corsOrigins.length
          ? {
              allowOrigins: props.corsOrigins,
              allowHeaders: [...CORS_ALLOW_HEADERS],
              allowMethods: CORS_ALLOW_METHODS.map((m) => CorsHttpMethod[m]),
              maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
            }
          : undefined,
      });
      new HttpStage(this, 'DefaultStage', {
        httpApi: api,
        stageName: '$default',
        autoDeploy: true,
        accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)) },
        throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      });
      for (const group of props.groups) {
        const integration = new HttpLambdaIntegration(`${group.segments[0]}-integration`, group.fn);
        if (group.unmatched) new HttpRoute(api, 'Unmatched', { httpApi: api, routeKey: HttpRouteKey.DEFAULT, integration });
        for (const segment of group.segments) {
          if (group.public) {
            api.addRoutes({ path: `/${segment}`, methods: [HttpMethod.GET], integration });
            if (group.subpaths) api.addRoutes({ path: `/${segment}/{proxy+}`, methods: [HttpMethod.GET], integration });
            continue;
          }
          api.addRoutes({ path: `/${segment}`, integration });
          api.addRoutes({ path: `/${segment}/{proxy+}`, integration });
        }
      }
      this.api = api;
      this.url = api.apiEndpoint;
      this.metricServerErrors = api.metricServerError({ period, statistic: 'Sum' });
      this.metricRequests = api.metricCount({ period, statistic: 'Sum' });
      return;
    }

    const api = new RestApi(this, 'Rest', {
      description: 'Courier-compatible notifications API',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // The open pixel's GIF (http/tracking.ts) is a binary answer: sent as bytes to a client that asks for an image first.
      binaryMediaTypes: ['image/*'],
      // Preflights answered by a mock integration on every resource; the functions set the headers of the answers (lambdas/shared/api.ts).
      defaultCorsPreflightOptions: props.corsOrigins.length
        ? {
            allowOrigins: props.corsOrigins,
            allowHeaders: [...CORS_ALLOW_HEADERS],
            allowMethods: [...CORS_ALLOW_METHODS],
            maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
          }
        : undefined,
      // Execution logging would need API Gateway's account-wide CloudWatch role; access logs suffice.
      cloudWatchRole: false,
      deployOptions: {
        stageName: REST_STAGE,
        throttlingRateLimit: props.rateLimit,
        throttlingBurstLimit: props.burstLimit,
        accessLogDestination: new RestLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        loggingLevel: MethodLoggingLevel.OFF,
        tracingEnabled: props.tracing,
      },
    });
    for (const group of props.groups) {
      const integration = new LambdaIntegration(group.fn, { allowTestInvoke: false });
      if (group.unmatched) {
        api.root.addMethod('ANY', integration);
        api.root.addResource('{proxy+}').addMethod('ANY', integration);
      }
      for (const segment of group.segments) {
        const resource = api.root.addResource(segment);
        if (group.public) {
          resource.addMethod('GET', integration);
          if (group.subpaths) resource.addResource('{proxy+}').addMethod('GET', integration);
          continue;
        }
        resource.addMethod('ANY', integration);
        resource.addResource('{proxy+}').addMethod('ANY', integration);
      }
    }
    this.api = api;
    // Without the trailing slash of `api.url`, so `${url}/send` is the route. The stage's name as
    // given, not a reference to the stage: functions behind the API get this URL (API_URL), and a
    // reference to the stage (which depends on their methods) would be a dependency cycle.
    this.url = `https://${api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${REST_STAGE}`;
    this.metricServerErrors = api.metricServerError({ period, statistic: 'Sum' });
    this.metricRequests = api.metricCount({ period, statistic: 'Sum' });
  }
}
