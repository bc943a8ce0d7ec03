/**
 * Azure DevOps service-hook bodies: `git.push` and the pull-request events
 * (see payloads.ts for the sources and the conventions of the builders).
 * @module
 */
import { FIXED_TIME, type Payload, digestOf, nextId } from './payloads.js';

/** Options of {@link devopsGitPush}. */
export interface DevOpsGitPushOptions {
  /** The repository's clone URL, e.g. `https://dev.azure.com/org/project/_git/repo`. */
  remoteUrl: string;
  /** Updated refs: names (`refs/heads/main`, `refs/tags/v1.2.0`) or full updates; a deletion has a zero `newObjectId`. Default `['refs/heads/main']`. */
  refs?: ReadonlyArray<string | { name: string; oldObjectId?: string; newObjectId?: string }>;
  /** Who pushed. Default `Jamal Hartnett`. */
  pushedBy?: string;
}

/** A zero object id: the `newObjectId` of a deleted ref, the `oldObjectId` of a created one. */
export const ZERO_OBJECT_ID = '0000000000000000000000000000000000000000';

function repositoryOf(remoteUrl: string): Payload {
  const url = new URL(remoteUrl);
  const parts = url.pathname.split('/').filter(Boolean);
  const gitAt = parts.indexOf('_git');
  const name = decodeURIComponent(parts[gitAt + 1] ?? parts[parts.length - 1] ?? 'repo');
  const project = decodeURIComponent(parts[gitAt - 1] ?? name);
  const apiBase = `${url.origin}/${parts.slice(0, Math.max(gitAt - 1, 0)).join('/')}`.replace(
    /\/$/,
    '',
  );
  const id = nextId();
  return {
    id,
    name,
    url: `${apiBase}/_apis/git/repositories/${id}`,
    project: {
      id: nextId(),
      name: project,
      url: `${apiBase}/_apis/projects/${project}`,
      state: 'wellFormed',
    },
    defaultBranch: 'refs/heads/main',
    remoteUrl,
  };
}

function emailOf(displayName: string): string {
  return `${displayName.toLowerCase().replace(/\s+/g, '.')}@example.com`;
}

function identity(displayName: string): Payload {
  return { id: nextId(), displayName, uniqueName: emailOf(displayName) };
}

/** An identity as pull requests give it: with its profile and avatar URLs. */
function profile(displayName: string, apiBase: string): Payload {
  const person = identity(displayName);
  return {
    ...person,
    url: `${apiBase}/_apis/Identities/${String(person.id)}`,
    imageUrl: `${apiBase}/_api/_common/identityImage?id=${String(person.id)}`,
  };
}

/** A commit reference, as `lastMergeSourceCommit` and its siblings give it. */
function commitRef(repository: Payload, seed: string): Payload {
  const commitId = digestOf(seed).slice(7, 47);
  return { commitId, url: `${String(repository.url)}/commits/${commitId}` };
}

function envelope(eventType: string, text: string, resource: Payload): Payload {
  return {
    id: nextId(),
    eventType,
    publisherId: 'tfs',
    // Microsoft's merged sample has no `scope`; the others say `all`.
    ...(eventType === 'git.pullrequest.merged' ? {} : { scope: 'all' }),
    message: { text, html: text, markdown: text },
    detailedMessage: { text, html: text, markdown: text },
    resource,
    resourceVersion: '1.0',
    resourceContainers: {
      collection: { id: nextId() },
      account: { id: nextId() },
      project: { id: nextId() },
    },
    createdDate: FIXED_TIME,
  };
}

/** An Azure DevOps `git.push` ("Code pushed") event. */
export function devopsGitPush(options: DevOpsGitPushOptions): Payload {
  const repository = repositoryOf(options.remoteUrl);
  const pushedBy = options.pushedBy ?? 'Jamal Hartnett';
  const refUpdates = (options.refs ?? ['refs/heads/main']).map((ref) =>
    typeof ref === 'string'
      ? {
          name: ref,
          oldObjectId: digestOf(`old:${ref}`).slice(7, 47),
          newObjectId: digestOf(`new:${ref}`).slice(7, 47),
        }
      : {
          name: ref.name,
          oldObjectId: ref.oldObjectId ?? digestOf(`old:${ref.name}`).slice(7, 47),
          newObjectId: ref.newObjectId ?? digestOf(`new:${ref.name}`).slice(7, 47),
        },
  );
  const branch = refUpdates[0]?.name.replace(/^refs\/(heads|tags)\//, '') ?? '';
  // The commit each created or updated ref now points at (a deletion adds none).
  const commits = refUpdates
    .filter((update) => update.newObjectId !== ZERO_OBJECT_ID)
    .map((update) => {
      const signature = { name: pushedBy, email: emailOf(pushedBy), date: FIXED_TIME };
      return {
        commitId: update.newObjectId,
        author: signature,
        committer: signature,
        comment: `Update ${update.name.replace(/^refs\/(heads|tags)\//, '')}`,
        url: `${options.remoteUrl}/commit/${update.newObjectId}`,
      };
    });
  return envelope(
    'git.push',
    `${pushedBy} pushed updates to ${branch} of repository ${String(repository.name)}.`,
    {
      commits,
      refUpdates,
      repository,
      pushedBy: identity(pushedBy),
      pushId: 14,
      date: FIXED_TIME,
      url: `${String(repository.url)}/pushes/14`,
    },
  );
}

/** Options of the pull-request builders. */
export interface DevOpsPullRequestOptions {
  /** The repository's clone URL, e.g. `https://dev.azure.com/org/project/_git/repo`. */
  remoteUrl: string;
  /** The pull request number. Default 1. */
  pullRequestId?: number;
  /** Source branch. Default `refs/heads/feature`. */
  sourceRefName?: string;
  /** Target branch. Default `refs/heads/main`. */
  targetRefName?: string;
  /** `active`, `completed` or `abandoned`. Default: `active` (created, updated), `completed` (merged). */
  status?: 'active' | 'completed' | 'abandoned';
  /** `succeeded`, `conflicts`, `failure`, `queued`, … Default `succeeded`. */
  mergeStatus?: string;
}

function pullRequest(
  eventType: string,
  verb: string,
  options: DevOpsPullRequestOptions,
  defaultStatus: string,
): Payload {
  const repository = repositoryOf(options.remoteUrl);
  const id = options.pullRequestId ?? 1;
  const status = options.status ?? defaultStatus;
  const apiBase = String(repository.url).replace(/\/_apis\/.*$/, '');
  const pullRequestURL = `${String(repository.url)}/pullRequests/${id}`;
  const reviewer = profile('Fabrikam Team', apiBase);
  const resource: Payload = {
    repository,
    pullRequestId: id,
    status,
    createdBy: profile('Jamal Hartnett', apiBase),
    creationDate: FIXED_TIME,
    title: 'my first pull request',
    description: ' - test2\r\n',
    sourceRefName: options.sourceRefName ?? 'refs/heads/feature',
    targetRefName: options.targetRefName ?? 'refs/heads/main',
    mergeStatus: options.mergeStatus ?? 'succeeded',
    mergeId: nextId(),
    // Every sample carries the three merge commits (Azure DevOps computes the
    // trial merge when the pull request is created) and a reviewer.
    lastMergeSourceCommit: commitRef(repository, `source:${id}`),
    lastMergeTargetCommit: commitRef(repository, `target:${id}`),
    lastMergeCommit: commitRef(repository, `merge:${id}`),
    reviewers: [
      {
        reviewerUrl: `${pullRequestURL}/reviewers/${String(reviewer.id)}`,
        vote: 0,
        ...reviewer,
        isContainer: true,
      },
    ],
    url: pullRequestURL,
  };
  // As in Microsoft's samples, only the merged event carries `_links`; the
  // others give the pull request by repository and id.
  if (eventType === 'git.pullrequest.merged')
    resource._links = { web: { href: `${options.remoteUrl}/pullrequest/${id}#view=discussion` } };
  if (status !== 'active') resource.closedDate = FIXED_TIME;
  return envelope(eventType, `Jamal Hartnett ${verb} pull request ${id}`, resource);
}

/** `git.pullrequest.created`: needs no refresh (the receiver answers 200 and does nothing). */
export function devopsPullRequestCreated(options: DevOpsPullRequestOptions): Payload {
  return pullRequest('git.pullrequest.created', 'created', options, 'active');
}

/** `git.pullrequest.updated`; with `status: 'abandoned'` it refreshes the Promotions waiting on it. */
export function devopsPullRequestUpdated(options: DevOpsPullRequestOptions): Payload {
  return pullRequest('git.pullrequest.updated', 'updated', options, 'active');
}

/** `git.pullrequest.merged` ("merge attempted"): refreshes the waiting Promotions when `status` is `completed` and `mergeStatus` `succeeded`. */
export function devopsPullRequestMerged(options: DevOpsPullRequestOptions): Payload {
  return pullRequest('git.pullrequest.merged', 'merged', options, 'completed');
}
