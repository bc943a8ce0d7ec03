import assert from 'node:assert/strict';
import {
  normalizeChartURL,
  normalizeGitURL,
  normalizeImageURL,
  normalizePullRequestURL,
  pullRequestURL,
} from '../../lib/matching/urls.js';
import { fixture } from '../support/fixtures.js';

interface Case {
  name: string;
  input: string;
  output: string;
}

const AZ = 'https://dev.azure.com/fabrikam/my%20project/_git/my%20repo';
const FIBER = 'https://dev.azure.com/fabrikam-fiber-inc/fabrikam-fiber-git/_git/fabrikam-fiber-git';

describe('normalizeGitURL', () => {
  const cases: Case[] = [
    // Kargo's cases (akuity/kargo pkg/urls/git_test.go)
    {
      name: 'https',
      input: 'https://github.com/example/repo',
      output: 'https://github.com/example/repo',
    },
    {
      name: 'trailing slash',
      input: 'https://github.com/example/repo/',
      output: 'https://github.com/example/repo',
    },
    {
      name: '.git',
      input: 'https://github.com/example/repo.git',
      output: 'https://github.com/example/repo',
    },
    {
      name: '.git and slash',
      input: 'https://github.com/example/repo.git/',
      output: 'https://github.com/example/repo',
    },
    {
      name: 'port',
      input: 'https://localhost:8443/example/repo.git',
      output: 'https://localhost:8443/example/repo',
    },
    {
      name: 'user info dropped',
      input: 'https://foo:bar@github.com/example/repo.git/',
      output: 'https://github.com/example/repo',
    },
    { name: 'host only', input: 'https://foo:bar@github.com/', output: 'https://github.com' },
    {
      name: 'case',
      input: 'HTTPS://GitHub.com/Example/Repo',
      output: 'https://github.com/example/repo',
    },
    {
      name: 'query kept as is',
      input: 'http://github.com/example/repo?foo=bar',
      output: 'http://github.com/example/repo?foo=bar',
    },
    {
      name: 'ssh keeps user',
      input: 'ssh://git@github.com/example/repo.git/',
      output: 'ssh://git@github.com/example/repo',
    },
    {
      name: 'ssh port',
      input: 'ssh://git@localhost:2222/example/repo.git',
      output: 'ssh://git@localhost:2222/example/repo',
    },
    {
      name: 'ssh no user',
      input: 'ssh://github.com/example/repo',
      output: 'ssh://github.com/example/repo',
    },
    {
      name: 'scp-like',
      input: 'git@github.com:example/repo.git',
      output: 'ssh://git@github.com/example/repo',
    },
    {
      name: 'scp-like no user',
      input: 'github.com:example/repo/',
      output: 'ssh://github.com/example/repo',
    },
    {
      name: 'scp-like host only',
      input: 'git@git.example.com',
      output: 'ssh://git@git.example.com',
    },
    {
      name: 'BOM and spaces',
      input: ' \ufeffhttps://github.com/example/repo\u200b\n',
      output: 'https://github.com/example/repo',
    },
    { name: 'unparsable', input: '  Not Even A URL ', output: 'not even a url' },
    { name: 'bad https', input: 'https://not a url', output: 'https://not a url' },
    { name: 'empty', input: '', output: '' },
    // Azure DevOps: one canonical form
    {
      name: 'azure canonical',
      input: 'https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo',
      output: AZ,
    },
    {
      name: 'azure user info',
      input: 'https://fabrikam@dev.azure.com/fabrikam/My%20Project/_git/My%20Repo',
      output: AZ,
    },
    {
      name: 'azure PAT user info',
      input: 'https://me:pat@dev.azure.com/fabrikam/My%20Project/_git/My%20Repo',
      output: AZ,
    },
    {
      name: 'azure literal spaces',
      input: 'https://dev.azure.com/fabrikam/My Project/_git/My Repo',
      output: AZ,
    },
    {
      name: 'azure case',
      input: 'HTTPS://DEV.AZURE.COM/Fabrikam/MY%20project/_GIT/my%20REPO',
      output: AZ,
    },
    {
      name: 'azure .git and slash',
      input: 'https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo.git/',
      output: AZ,
    },
    {
      name: 'azure query and fragment',
      input: 'https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo?path=/a#x',
      output: AZ,
    },
    {
      name: 'azure http',
      input: 'http://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo',
      output: AZ,
    },
    {
      name: 'azure DefaultCollection',
      input: 'https://dev.azure.com/fabrikam/DefaultCollection/My%20Project/_git/My%20Repo',
      output: AZ,
    },
    {
      name: 'visualstudio.com',
      input: 'https://fabrikam.visualstudio.com/My%20Project/_git/My%20Repo',
      output: AZ,
    },
    {
      name: 'visualstudio.com user',
      input: 'https://fabrikam@fabrikam.visualstudio.com/My%20Project/_git/My%20Repo',
      output: AZ,
    },
    {
      name: 'visualstudio.com DefaultCollection',
      input: 'https://Fabrikam.VisualStudio.com/DefaultCollection/My%20Project/_git/My%20Repo',
      output: AZ,
    },
    {
      name: 'azure scp-like ssh',
      input: 'git@ssh.dev.azure.com:v3/fabrikam/My%20Project/My%20Repo',
      output: AZ,
    },
    {
      name: 'azure scp-like ssh spaces',
      input: 'git@ssh.dev.azure.com:v3/fabrikam/My Project/My Repo',
      output: AZ,
    },
    {
      name: 'azure ssh://',
      input: 'ssh://git@ssh.dev.azure.com/v3/fabrikam/My%20Project/My%20Repo',
      output: AZ,
    },
    {
      name: 'azure ssh:// port',
      input: 'ssh://git@ssh.dev.azure.com:22/v3/fabrikam/My%20Project/My%20Repo.git',
      output: AZ,
    },
    {
      name: 'vs-ssh scp-like',
      input: 'fabrikam@vs-ssh.visualstudio.com:v3/fabrikam/My%20Project/My%20Repo',
      output: AZ,
    },
    {
      name: 'vs-ssh ssh://',
      input: 'ssh://fabrikam@vs-ssh.visualstudio.com:22/v3/fabrikam/My%20Project/My%20Repo',
      output: AZ,
    },
    {
      name: 'project == repo under DefaultCollection (devops-test-git-push.json)',
      input:
        'https://fabrikam-fiber-inc.visualstudio.com/DefaultCollection/_git/Fabrikam-Fiber-Git',
      output: FIBER,
    },
    {
      name: 'project == repo on dev.azure.com (devops-git-push.json)',
      input: 'https://dev.azure.com/fabrikam-fiber-inc/DefaultCollection/_git/Fabrikam-Fiber-Git',
      output: FIBER,
    },
    {
      name: 'project == repo under the org',
      input: 'https://dev.azure.com/fabrikam-fiber-inc/_git/Fabrikam-Fiber-Git',
      output: FIBER,
    },
    {
      name: 'project == repo spelled out',
      input: 'https://dev.azure.com/fabrikam-fiber-inc/Fabrikam-Fiber-Git/_git/Fabrikam-Fiber-Git',
      output: FIBER,
    },
    {
      name: 'project == repo ssh',
      input: 'git@ssh.dev.azure.com:v3/fabrikam-fiber-inc/Fabrikam-Fiber-Git/Fabrikam-Fiber-Git',
      output: FIBER,
    },
    // Not a repository URL of Azure DevOps: generic rules
    {
      name: 'azure page under the repo',
      input: 'https://dev.azure.com/o/p/_git/r/pullrequest/1',
      output: 'https://dev.azure.com/o/p/_git/r/pullrequest/1',
    },
    {
      name: 'azure without _git',
      input: 'https://dev.azure.com/o/p/r',
      output: 'https://dev.azure.com/o/p/r',
    },
    {
      name: 'azure ssh without v3',
      input: 'git@ssh.dev.azure.com:o/p/r',
      output: 'ssh://git@ssh.dev.azure.com/o/p/r',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(normalizeGitURL(c.input), c.output);
    });
  }

  it('is idempotent on every case', () => {
    for (const c of cases) assert.equal(normalizeGitURL(c.output), c.output, c.name);
  });

  const payloads = [
    { name: 'devops-git-push', output: FIBER },
    { name: 'devops-test-git-push', output: FIBER },
    { name: 'devops-pr-created', output: 'https://dev.azure.com/fabrikam/fabrikam/_git/fabrikam' },
    { name: 'devops-pr-merged', output: 'https://dev.azure.com/fabrikam/fabrikam/_git/fabrikam' },
  ];
  for (const p of payloads) {
    it(`normalizes remoteUrl of ${p.name}.json`, () => {
      assert.equal(
        normalizeGitURL(String(fixture(p.name)['resource'].repository.remoteUrl)),
        p.output,
      );
    });
  }
});

describe('normalizeImageURL', () => {
  const cases: Case[] = [
    { name: 'official short', input: 'nginx', output: 'nginx' },
    { name: 'library/', input: 'library/nginx', output: 'nginx' },
    { name: 'docker.io/library', input: 'docker.io/library/nginx', output: 'nginx' },
    { name: 'docker.io', input: 'docker.io/nginx', output: 'nginx' },
    { name: 'index.docker.io/library', input: 'index.docker.io/library/nginx', output: 'nginx' },
    { name: 'registry-1.docker.io', input: 'registry-1.docker.io/library/nginx', output: 'nginx' },
    { name: 'hub org', input: 'docker.io/example/repo', output: 'example/repo' },
    { name: 'hub org short', input: 'example/repo', output: 'example/repo' },
    { name: 'tag dropped', input: 'nginx:1.27', output: 'nginx' },
    { name: 'digest dropped', input: 'nginx@sha256:0123abcd', output: 'nginx' },
    {
      name: 'tag and digest dropped',
      input: 'docker.io/library/nginx:1.27@sha256:0123abcd',
      output: 'nginx',
    },
    {
      name: 'acr',
      input: 'MyRegistry.azurecr.io/Team/App',
      output: 'myregistry.azurecr.io/team/app',
    },
    {
      name: 'acr tag',
      input: 'myregistry.azurecr.io/team/app:v1',
      output: 'myregistry.azurecr.io/team/app',
    },
    { name: 'port kept', input: 'localhost:5000/app:1', output: 'localhost:5000/app' },
    { name: 'localhost', input: 'localhost/app', output: 'localhost/app' },
    { name: 'ghcr', input: 'ghcr.io/example/repo', output: 'ghcr.io/example/repo' },
    {
      name: 'invisible and outer whitespace',
      input: ' \ufeffdocker.io/example/repo\n',
      output: 'example/repo',
    },
    // Kargo's TestNormalizeImage: what go-containerregistry cannot parse comes back unchanged.
    { name: 'unparsable (Kargo)', input: 'invalid url', output: 'invalid url' },
    {
      name: 'inner whitespace',
      input: ' docker.io/example /repo\n',
      output: 'docker.io/example /repo',
    },
    {
      name: 'percent-encoded',
      input: 'docker.io/example%20repo',
      output: 'docker.io/example%20repo',
    },
    {
      name: 'trailing slash',
      input: 'myregistry.azurecr.io/app/',
      output: 'myregistry.azurecr.io/app',
    },
    { name: 'empty', input: '', output: '' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(normalizeImageURL(c.input), c.output);
    });
  }
});

describe('normalizeChartURL', () => {
  const cases: Case[] = [
    {
      name: 'oci acr',
      input: 'oci://MyRegistry.azurecr.io/helm/App',
      output: 'myregistry.azurecr.io/helm/app',
    },
    {
      name: 'without oci://',
      input: 'myregistry.azurecr.io/helm/app',
      output: 'myregistry.azurecr.io/helm/app',
    },
    {
      name: 'trailing slash',
      input: 'oci://myregistry.azurecr.io/helm/app/',
      output: 'myregistry.azurecr.io/helm/app',
    },
    {
      name: 'oci docker hub',
      input: 'oci://registry-1.docker.io/bitnamicharts/nginx',
      output: 'bitnamicharts/nginx',
    },
    {
      name: 'classic https',
      input: 'https://Charts.Example.com/stable/',
      output: 'https://charts.example.com/stable',
    },
    {
      name: 'classic http',
      input: ' http://charts.example.com ',
      output: 'http://charts.example.com',
    },
    // Kargo's NormalizeChart lowercases and trims, then NormalizeImage returns what it cannot parse.
    { name: 'unparsable', input: ' oci://Invalid Chart ', output: 'invalid chart' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(normalizeChartURL(c.input), c.output);
    });
  }
});

describe('normalizePullRequestURL', () => {
  const PR = `${AZ}/pullrequest/42`;
  const cases: Case[] = [
    { name: 'canonical', input: `${AZ}/pullrequest/42`, output: PR },
    {
      name: 'case',
      input: 'https://dev.azure.com/Fabrikam/My%20Project/_git/My%20Repo/pullRequest/42',
      output: PR,
    },
    {
      name: 'fragment',
      input:
        'https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo/pullrequest/42#view=discussion',
      output: PR,
    },
    {
      name: 'query',
      input:
        'https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo/pullrequest/42?_a=overview',
      output: PR,
    },
    {
      name: 'trailing slash',
      input: 'https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo/pullrequest/42/',
      output: PR,
    },
    {
      name: 'user info',
      input: 'https://fabrikam@dev.azure.com/fabrikam/My%20Project/_git/My%20Repo/pullrequest/42',
      output: PR,
    },
    {
      name: 'visualstudio.com',
      input: 'https://fabrikam.visualstudio.com/My%20Project/_git/My%20Repo/pullrequest/42',
      output: PR,
    },
    {
      name: 'visualstudio.com DefaultCollection',
      input:
        'https://fabrikam.visualstudio.com/DefaultCollection/My Project/_git/My Repo/pullrequest/42#view=files',
      output: PR,
    },
    { name: 'leading zero id', input: `${AZ}/pullrequest/042`, output: PR },
    {
      name: 'devops-pr-merged.json _links.web.href',
      input:
        'https://fabrikam.visualstudio.com/DefaultCollection/_git/Fabrikam/pullrequest/1#view=discussion',
      output: 'https://dev.azure.com/fabrikam/fabrikam/_git/fabrikam/pullrequest/1',
    },
    {
      name: 'non-azure',
      input: ' https://GitHub.com/o/r/pull/1/?x=1#y ',
      output: 'https://github.com/o/r/pull/1',
    },
    {
      name: 'azure non-numeric id',
      input: `${AZ}/pullrequest/abc`,
      output: `${AZ}/pullrequest/abc`,
    },
    { name: 'unparsable', input: 'NOT A URL', output: 'not a url' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(normalizePullRequestURL(c.input), c.output);
    });
  }

  it('is idempotent on every case', () => {
    for (const c of cases) assert.equal(normalizePullRequestURL(c.output), c.output, c.name);
  });
});

describe('pullRequestURL', () => {
  const cases = [
    {
      name: 'dev.azure.com',
      repo: 'https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo',
      id: 42,
      output: `${AZ}/pullrequest/42`,
    },
    {
      name: 'ssh',
      repo: 'git@ssh.dev.azure.com:v3/fabrikam/My Project/My Repo',
      id: 42,
      output: `${AZ}/pullrequest/42`,
    },
    {
      name: 'remoteUrl of devops-pr-merged.json',
      repo: String(fixture('devops-pr-merged')['resource'].repository.remoteUrl),
      id: 1,
      output: 'https://dev.azure.com/fabrikam/fabrikam/_git/fabrikam/pullrequest/1',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(pullRequestURL(c.repo, c.id), c.output);
    });
  }

  it('agrees with normalizePullRequestURL on the merged payload', () => {
    const resource = fixture('devops-pr-merged')['resource'];
    assert.equal(
      pullRequestURL(String(resource.repository.remoteUrl), Number(resource.pullRequestId)),
      normalizePullRequestURL(String(resource._links.web.href)),
    );
  });
});
