import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * `npx cdk synth` as a user runs it: the real CLI in a child process, offline, without Docker, into
 * a temporary directory. The CLI always resolves a default region (and an account when credentials
 * exist), which the in-process tests never see, so this is the check that `cdk deploy` can start.
 */
const root = path.resolve(__dirname, '../..');

/** The environment with every AWS and CDK variable removed (jest's own setup sets some). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|CDK_)/.test(k)));
  return { ...env, CDK_DISABLE_VERSION_CHECK: '1', ...extra };
}

interface SynthRun {
  code: number | null;
  output: string;
  dir: string;
}

function synth(args: string[], env: NodeJS.ProcessEnv): Promise<SynthRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdk-synth-'));
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['cdk', 'synth', '--no-notices', '-q', '-o', dir, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output, dir }));
  });
}

const nagErrors = (output: string) => output.split('\n').filter((l) => /^\s*(\S+\s)?ERROR\b/.test(l) || l.includes('Synthesis finished with errors'));

// Each synth bundles every function (about a minute on a loaded 2-CPU machine), so the second run
// carries two independent checks: the region and account reach the stack's environment (and the
// cdk-nag acknowledgements hold there), and -c stage/settings reach the template through the CLI.
// The stage only names the stack (lib/app.ts), so it needs no region-less run of its own.
const runs: [string, string[], Record<string, string>, string][] = [
  ['no AWS variables at all', [], {}, 'Notifications-dev'],
  // The CLI resolves the region itself (AWS_REGION, the profile, else us-east-1) and passes it on.
  [
    'a region and an account, another stage with workspace settings',
    ['-c', 'stage=prod', '-c', 'settings={"MESSAGE_RETENTION_DAYS":"90"}'],
    { AWS_REGION: 'eu-west-1', CDK_DEFAULT_REGION: 'eu-west-1', CDK_DEFAULT_ACCOUNT: '123456789012' },
    'Notifications-prod',
  ],
];

describe('npx cdk synth (the real CLI)', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it.each(runs)(
    'succeeds with zero cdk-nag errors: %s',
    async (_name, args, env, stackName) => {
      const run = await synth(args, cleanEnv(env));
      dirs.push(run.dir);
      expect({ code: run.code, errors: nagErrors(run.output) }).toEqual({ code: 0, errors: [] });
      const template = JSON.parse(readFileSync(path.join(run.dir, `${stackName}.template.json`), 'utf8')) as { Resources: Record<string, { Type: string }> };
      expect(Object.values(template.Resources).some((r) => r.Type === 'AWS::DynamoDB::GlobalTable')).toBe(true);
      // Every function was bundled by the local esbuild (no Docker): one asset folder each.
      const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function').length;
      expect(readdirSync(run.dir).filter((d) => d.startsWith('asset.')).length).toBeGreaterThanOrEqual(functions);
      const manifest = JSON.parse(readFileSync(path.join(run.dir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { environment?: string }> };
      if (env.CDK_DEFAULT_REGION) expect(manifest.artifacts[stackName].environment).toBe('aws://123456789012/eu-west-1');
      if (args.includes('settings={"MESSAGE_RETENTION_DAYS":"90"}')) expect(JSON.stringify(template)).toContain('"MESSAGE_RETENTION_DAYS":"90"');
    },
    180_000,
  );
});
