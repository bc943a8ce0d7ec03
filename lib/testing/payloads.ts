/**
 * Builders of webhook bodies as Azure sends them, shaped like the payloads
 * Microsoft documents (the fixtures in `spec/fixtures/azure/`): the fields a
 * receiver reads are set from the arguments, the rest carries plausible
 * values, and every field that all of Microsoft's samples of the event share
 * is present (`lastMergeSourceCommit`, `reviewers`, `commits`, …). Each builder returns a fresh plain object, ready for
 * `supertest(app).post(url).send(body)`.
 *
 * Sources: "Azure Container Registry webhook reference"
 * (https://learn.microsoft.com/azure/container-registry/container-registry-webhook-reference)
 * and "Service hooks events" of Azure DevOps
 * (https://learn.microsoft.com/azure/devops/service-hooks/events).
 * @module
 */

/** Docker's v2 image manifest, the `mediaType` of a plain `docker push`. */
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
/** An OCI image manifest (an image, or a Helm chart pushed with `helm push oci://`). */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** A JSON body. */
export type Payload = Record<string, unknown>;

const FIXED_TIME = '2026-01-15T10:00:00.000Z';
let sequence = 0;

/** A deterministic UUID-shaped id (tests compare bodies; random ids would not help them). */
function nextId(): string {
  sequence = (sequence + 1) % 0xffffffff;
  return `00000000-0000-4000-8000-${sequence.toString(16).padStart(12, '0')}`;
}

function digestOf(text: string): string {
  // A stable fake digest: 64 hex digits derived from the text, not a real hash.
  let h = 0x811c9dc5;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `sha256:${h.toString(16).padStart(8, '0').repeat(8)}`;
}

/** Options of {@link acrPush}. */
export interface AcrPushOptions {
  /** Login server of the registry. Default `myregistry.azurecr.io`. */
  registry?: string;
  /** Repository inside the registry, e.g. `team/app`. */
  repository: string;
  /** The pushed tag; `undefined` or `''` for a push by digest. Default `v1`. */
  tag?: string;
  /** Manifest media type. Default {@link DOCKER_MANIFEST_V2}. */
  mediaType?: string;
  /** Manifest digest. Default: derived from repository and tag. */
  digest?: string;
  /** Event time. Default a fixed instant. */
  timestamp?: string;
}

/** An ACR `push` event (an image or an OCI artifact such as a Helm chart was pushed). */
export function acrPush(options: AcrPushOptions): Payload {
  const tag = options.tag === undefined ? 'v1' : options.tag;
  const target: Payload = {
    mediaType: options.mediaType ?? DOCKER_MANIFEST_V2,
    size: 524,
    digest: options.digest ?? digestOf(`${options.repository}:${tag}`),
    length: 524,
    repository: options.repository,
  };
  if (tag) target.tag = tag;
  return {
    id: nextId(),
    timestamp: options.timestamp ?? FIXED_TIME,
    action: 'push',
    target,
    request: {
      id: nextId(),
      host: options.registry ?? 'myregistry.azurecr.io',
      method: 'PUT',
      useragent: 'docker/27.3.1 go/go1.22.7 os/linux arch/amd64',
    },
  };
}

/** A Helm chart pushed to ACR as an OCI artifact (`helm push chart.tgz oci://<registry>/<repository-prefix>`). */
export function acrChartPush(
  options: Omit<AcrPushOptions, 'mediaType'> & { version: string },
): Payload {
  const body = acrPush({ ...options, tag: options.version, mediaType: OCI_MANIFEST });
  (body.request as Payload).useragent = 'Helm/3.16.2';
  return body;
}

/** The `ping` ACR sends when a webhook is created or "Ping" is clicked. */
export function acrPing(options: { registry?: string } = {}): Payload {
  return {
    id: nextId(),
    timestamp: FIXED_TIME,
    action: 'ping',
    target: {},
    request: { id: nextId(), host: options.registry ?? 'myregistry.azurecr.io', method: 'POST' },
  };
}

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
