import { parseConfig } from '../../../lambdas/shared/config';

describe('configuration', () => {
  it('fails at load time, naming the variable, when one is missing or malformed', () => {
    expect(() => parseConfig({})).toThrow(/TABLE_NAME/);
    expect(() => parseConfig({ TABLE_NAME: 't', FANOUT_QUEUE_URL: 'not a url' })).toThrow(/FANOUT_QUEUE_URL/);
    expect(() => parseConfig({ TABLE_NAME: 't', AUTO_INFER_TENANT_CONTEXT: 'maybe' })).toThrow(/AUTO_INFER_TENANT_CONTEXT/);
  });

  it('applies defaults', () => {
    expect(parseConfig({ TABLE_NAME: 't' })).toMatchObject({ AWS_REGION: 'us-east-1', MAX_BODY_BYTES: 262144, AUTO_INFER_TENANT_CONTEXT: true });
  });
});
