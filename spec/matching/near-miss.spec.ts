import assert from 'node:assert/strict';
import { describeDifference, repositoryName } from '../../lib/matching/near-miss.js';
import type { ArtifactKind } from '../../lib/types.js';

describe('repositoryName', () => {
  const cases: Array<[string, string]> = [
    ['myregistry.azurecr.io/team/hello-world', 'hello-world'],
    ['nginx', 'nginx'],
    ['https://dev.azure.com/org/project/_git/repo', 'repo'],
    ['ssh://git@github.com/org/repo', 'repo'],
    ['https://charts.example.com/', 'charts.example.com'],
  ];
  for (const [url, name] of cases) {
    it(`${url} → ${name}`, () => assert.equal(repositoryName(url), name));
  }
});

describe('describeDifference', () => {
  const cases: Array<{
    pushed: string;
    subscribed: string;
    kind: ArtifactKind;
    says: string | undefined;
  }> = [
    {
      pushed: 'myregistry.azurecr.io/app',
      subscribed: 'other.azurecr.io/app',
      kind: 'image',
      says: 'another registry host or login server: other.azurecr.io instead of myregistry.azurecr.io',
    },
    {
      pushed: 'myregistry.azurecr.io/app',
      subscribed: 'app',
      kind: 'chart',
      says: 'another registry host or login server: docker.io instead of myregistry.azurecr.io',
    },
    {
      pushed: 'myregistry.azurecr.io/app',
      subscribed: 'myregistry.azurecr.io/team/app',
      kind: 'image',
      says: 'another path prefix: team/app instead of app',
    },
    {
      pushed: 'https://git.example.com/org/repo',
      subscribed: 'http://git.example.com/org/repo',
      kind: 'git',
      says: 'another scheme: http:// instead of https://',
    },
    {
      pushed: 'https://git.example.com/org/repo',
      subscribed: 'ssh://git@git.example.com/other/repo',
      kind: 'git',
      says: 'another scheme: ssh:// instead of https://; another host: git@git.example.com instead of git.example.com; another path prefix: other/repo instead of org/repo',
    },
    {
      pushed: 'myregistry.azurecr.io/app',
      subscribed: 'myregistry.azurecr.io/app',
      kind: 'image',
      says: undefined,
    },
  ];
  for (const c of cases) {
    it(`${c.subscribed} for a push of ${c.pushed}`, () => {
      assert.equal(describeDifference(c.pushed, c.subscribed, c.kind), c.says);
    });
  }
});
