import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { NotificationsStack } from '../../lib/stack';
import type { IamRequest } from '../../lambdas/local/aws-calls';
import { resolve, type Bindings, type CfnTemplate, type StackDescription } from '../../lambdas/local/template';

/**
 * The IAM check: every AWS call a function made (recorded by the local runner, lambdas/local/aws-calls.ts)
 * is evaluated against that function's role policies from the synthesized template, with
 * `@cloud-copilot/iam-simulate`, as IAM would evaluate it on AWS (plus the queues' resource policies).
 */

/** The template of `stack` with the logical ids of what the local stack stands in for. */
export function describeStack(stack: NotificationsStack, template: CfnTemplate): StackDescription {
  const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  return {
    stackName: stack.stackName,
    template,
    table: id(stack.table.table),
    queues: {
      fanout: { queue: id(stack.queues.fanout.queue), dlq: id(stack.queues.fanout.dlq) },
      delivery: { queue: id(stack.queues.delivery.queue), dlq: id(stack.queues.delivery.dlq) },
      webhooks: { queue: id(stack.queues.webhooks.queue), dlq: id(stack.queues.webhooks.dlq) },
    },
    functions: Object.fromEntries(Object.entries(stack.functions).map(([name, f]) => [name, id(f.fn)])),
  };
}

interface PolicyDocument {
  Statement: { Effect: string; Action: string | string[]; Resource: string | string[]; Sid?: string }[];
}

export interface FunctionRole {
  roleArn: string;
  policies: { name: string; policy: PolicyDocument }[];
}

/** Each function's role ARN and identity policies (inline and attached), resolved to local ARNs. */
export function functionRoles(d: StackDescription, b: Bindings): Record<string, FunctionRole> {
  const res = d.template.Resources;
  const out: Record<string, FunctionRole> = {};
  for (const [name, fnId] of Object.entries(d.functions)) {
    const roleRef = (res[fnId].Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const attached = Object.entries(res).filter(
      ([, r]) => r.Type === 'AWS::IAM::Policy' && ((r.Properties?.Roles as { Ref: string }[]) ?? []).some((x) => x.Ref === roleRef),
    );
    const inline = ((res[roleRef].Properties?.Policies as { PolicyName: string; PolicyDocument: unknown }[]) ?? []).map(
      (p) => [p.PolicyName, p.PolicyDocument] as const,
    );
    if (res[roleRef].Properties?.ManagedPolicyArns) throw new Error(`${name}: managed policies are not evaluated here`);
    out[name] = {
      roleArn: resolve({ 'Fn::GetAtt': [roleRef, 'Arn'] }, b) as string,
      policies: [...attached.map(([id, r]) => [id, r.Properties?.PolicyDocument] as const), ...inline].map(([policyName, doc]) => ({
        name: policyName,
        policy: resolve(doc, b) as PolicyDocument,
      })),
    };
  }
  return out;
}

/** Resource policies by resource ARN (the queues' TLS-only policies). */
export function resourcePolicies(d: StackDescription, b: Bindings): Record<string, PolicyDocument> {
  const out: Record<string, PolicyDocument> = {};
  for (const r of Object.values(d.template.Resources).filter((x) => x.Type === 'AWS::SQS::QueuePolicy')) {
    for (const q of r.Properties?.Queues as unknown[]) {
      const url = resolve(q, b) as string;
      const arn = Object.values(b.physical).find((p) => p.attrs.QueueUrl === url)?.attrs.Arn;
      if (arn) out[arn] = resolve(r.Properties?.PolicyDocument, b) as PolicyDocument;
    }
  }
  return out;
}

export interface Verdict {
  request: IamRequest;
  result: string;
}

/** Evaluates each request as IAM would (identity policies of the function's role, resource policy, TLS). */
export async function evaluate(
  requests: IamRequest[],
  roles: Record<string, FunctionRole>,
  resources: Record<string, PolicyDocument>,
  account: string,
): Promise<Verdict[]> {
  const out: Verdict[] = [];
  for (const request of requests) {
    const role = roles[request.fn];
    if (!role) {
      out.push({ request, result: 'NoSuchFunction' });
      continue;
    }
    const sim = await runSimulation(
      {
        request: {
          principal: role.roleArn,
          action: request.action,
          resource: { resource: request.resource, accountId: account },
          contextVariables: { 'aws:SecureTransport': 'true', 'aws:PrincipalArn': role.roleArn, 'aws:PrincipalAccount': account },
        },
        identityPolicies: role.policies,
        resourcePolicy: resources[request.resource],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (sim.resultType === 'error') throw new Error(`cannot evaluate ${JSON.stringify(request)}: ${JSON.stringify(sim.errors)}`);
    out.push({ request, result: sim.overallResult });
  }
  return out;
}

/** The calls IAM would refuse, one line each (empty when everything is allowed). */
export async function deniedCalls(
  requests: IamRequest[],
  roles: Record<string, FunctionRole>,
  resources: Record<string, PolicyDocument>,
  account: string,
): Promise<string[]> {
  const verdicts = await evaluate(requests, roles, resources, account);
  return verdicts.filter((v) => v.result !== 'Allowed').map((v) => `${v.request.fn} ${v.request.action} ${v.request.resource}: ${v.result}`);
}

/** Every (function, action) a role grants, apart from the runtime's own logging. */
export function grantedActions(roles: Record<string, FunctionRole>): { fn: string; action: string }[] {
  const out = new Map<string, { fn: string; action: string }>();
  for (const [fn, role] of Object.entries(roles)) {
    for (const s of role.policies.flatMap((p) => p.policy.Statement).filter((x) => x.Effect === 'Allow')) {
      for (const action of [s.Action].flat()) if (!action.startsWith('logs:')) out.set(`${fn}|${action}`, { fn, action });
    }
  }
  return [...out.values()];
}
