/**
 * Azure DevOps service hook events (Web Hooks consumer).
 * Payloads: https://learn.microsoft.com/azure/devops/service-hooks/events
 * @module
 */
import { normalizeGitURL, normalizePullRequestURL, pullRequestURL } from '../matching/urls.js';
import {
  arrayField,
  capEcho,
  FieldError,
  MAX_FIELD_CHARS,
  MAX_QUALIFIERS,
  objectField,
  own,
  positiveIntegerField,
  stringField,
} from './fields.js';
import { isObject, type Classification, type JSONObject } from './result.js';

/** True when the body has the shape of an Azure DevOps service hook event. */
export function isAzureDevOpsPayload(body: JSONObject): boolean {
  const eventType = own(body, 'eventType');
  return (
    typeof eventType === 'string' &&
    eventType.length > 0 &&
    (typeof own(body, 'publisherId') === 'string' || isObject(own(body, 'resource')))
  );
}

// A ref deletion is reported with an all-zero new object id.
const DELETED = /^0+$/;

function invalid(eventType: string, error: FieldError): Classification {
  return {
    action: 'invalid',
    source: 'azure-devops',
    eventType,
    reason: `invalid Azure DevOps ${eventType} event: ${error.message}`,
  };
}

function ignore(eventType: string, reason: string): Classification {
  return { action: 'ignore', source: 'azure-devops', eventType, reason };
}

/** `resource.repository.remoteUrl`, type-checked. */
function remoteUrlOf(resource: JSONObject): string {
  const repository = objectField(resource, 'repository', 'resource.repository');
  return stringField(repository, 'remoteUrl', 'resource.repository.remoteUrl') ?? '';
}

/** A push's fields that matter, type-checked in one pass over the refs: how many updated, names not deleted. Throws FieldError. */
function readPush(body: JSONObject): {
  remoteUrl: string;
  updates: number;
  live: Set<string>;
  defaultBranch: string | undefined;
} {
  const resource = objectField(body, 'resource', 'resource');
  const remoteUrl = remoteUrlOf(resource);
  // Informational, never validated: an over-long one is ignored like a missing one.
  const rawDefault = own(
    objectField(resource, 'repository', 'resource.repository'),
    'defaultBranch',
  );
  const defaultBranch =
    typeof rawDefault === 'string' && rawDefault.length <= MAX_FIELD_CHARS
      ? branchName(rawDefault)
      : undefined;
  const updates = arrayField(resource, 'refUpdates', 'resource.refUpdates');
  const live = new Set<string>();
  updates.forEach((u, i) => {
    if (!isObject(u)) throw new FieldError(`resource.refUpdates[${i}]`, 'of type object');
    let name = own(u, 'name');
    let newObjectId = own(u, 'newObjectId');
    // Paths are built only for an entry that fails.
    if (typeof name !== 'string' || name.length > MAX_FIELD_CHARS)
      name = stringField(u, 'name', `resource.refUpdates[${i}].name`) ?? '';
    if (typeof newObjectId !== 'string' || newObjectId.length > MAX_FIELD_CHARS)
      newObjectId = stringField(u, 'newObjectId', `resource.refUpdates[${i}].newObjectId`) ?? '';
    if (name && !DELETED.test(newObjectId as string)) live.add(name as string);
  });
  return { remoteUrl, updates: updates.length, live, defaultBranch };
}

function classifyPush(eventType: string, body: JSONObject): Classification {
  let fields: ReturnType<typeof readPush>;
  try {
    fields = readPush(body);
  } catch (err) {
    if (err instanceof FieldError) return invalid(eventType, err);
    throw err;
  }
  const { remoteUrl, updates, live, defaultBranch } = fields;
  if (!remoteUrl) {
    // "Resource details to send: Minimal" sends only url and pushId.
    return ignore(
      eventType,
      'nothing refreshed: the push event names no repository (set "Resource details to send" to All)',
    );
  }
  if (updates > 0 && live.size === 0) {
    return ignore(eventType, 'nothing refreshed: the push only deleted refs');
  }
  const refs = [...live];
  return {
    action: 'refresh',
    source: 'azure-devops',
    eventType,
    event: {
      type: 'push',
      source: 'azure-devops',
      eventType,
      repoURLs: [normalizeGitURL(remoteUrl)],
      kinds: ['git'],
      // Past MAX_QUALIFIERS refs, every subscriber of the repository is
      // refreshed (no filtering): a superset, and bounded matching work.
      qualifiers: refs.length > MAX_QUALIFIERS ? [] : refs,
      ...(defaultBranch ? { defaultBranch } : {}),
    },
  };
}

/** The fields of a pull-request event that matter, type-checked; throws FieldError. */
function readPullRequest(body: JSONObject): {
  remoteUrl: string;
  pullRequestId: number | undefined;
  status: string;
  mergeStatus: string;
  href: string;
} {
  const resource = objectField(body, 'resource', 'resource');
  const links = objectField(resource, '_links', 'resource._links');
  const web = objectField(links, 'web', 'resource._links.web');
  return {
    remoteUrl: remoteUrlOf(resource),
    pullRequestId: positiveIntegerField(resource, 'pullRequestId', 'resource.pullRequestId'),
    status: stringField(resource, 'status', 'resource.status') ?? '',
    mergeStatus: stringField(resource, 'mergeStatus', 'resource.mergeStatus') ?? '',
    href: stringField(web, 'href', 'resource._links.web.href') ?? '',
  };
}

/**
 * `resource.repository.defaultBranch` is a full ref (`refs/heads/main`, in
 * both Microsoft's sample and the wizard's Test payload); a bare name is
 * taken as it is. Absent, empty, null (a repository without commits), not a
 * string or another kind of ref: undefined, and Kargo's guess applies. It is
 * not validated: an informational field must never cost the push its refresh.
 */
function branchName(ref: unknown): string | undefined {
  if (typeof ref !== 'string') return undefined;
  const value = ref.trim();
  if (value === '') return undefined;
  if (value.startsWith('refs/heads/')) return value.slice('refs/heads/'.length) || undefined;
  return value.startsWith('refs/') ? undefined : value;
}

/**
 * `git.pullrequest.merged` is "Pull request merge attempted": it also fires
 * for failed merges, so read `status` and `mergeStatus`. An update to
 * `abandoned` closes the PR too.
 */
function classifyPullRequest(eventType: string, body: JSONObject): Classification {
  let fields: ReturnType<typeof readPullRequest>;
  try {
    fields = readPullRequest(body);
  } catch (err) {
    if (err instanceof FieldError) return invalid(eventType, err);
    throw err;
  }
  // Echoed into the answer: cut like every other echoed string.
  const status = capEcho(fields.status.toLowerCase());
  if (eventType === 'git.pullrequest.merged') {
    const mergeStatus = capEcho(fields.mergeStatus.toLowerCase());
    if (status !== 'completed' || mergeStatus !== 'succeeded') {
      return ignore(
        eventType,
        `nothing refreshed: the merge did not complete (status ${status || 'unknown'}, mergeStatus ${mergeStatus || 'unknown'})`,
      );
    }
  } else if (status !== 'abandoned') {
    // A completed PR is announced by git.pullrequest.merged; only abandonment
    // closes a PR without one.
    return ignore(
      eventType,
      `nothing refreshed: a pull request update to status ${status || 'unknown'} closes nothing`,
    );
  }
  const { href, remoteUrl, pullRequestId } = fields;
  let prURL: string | undefined;
  if (href) prURL = normalizePullRequestURL(href);
  else if (remoteUrl && pullRequestId !== undefined) {
    prURL = pullRequestURL(remoteUrl, pullRequestId);
  }
  if (!prURL) {
    return ignore(eventType, 'nothing refreshed: the event does not identify the pull request');
  }
  return {
    action: 'refresh',
    source: 'azure-devops',
    eventType,
    event: { type: 'pull-request', source: 'azure-devops', eventType, prURL },
  };
}

/**
 * Maps a payload for which `isAzureDevOpsPayload` holds. Reads only the
 * fields it needs; `eventType` is echoed cut to a few hundred characters.
 */
export function classifyAzureDevOps(body: JSONObject): Classification {
  const eventType = capEcho(body.eventType as string);
  switch (eventType) {
    case 'git.push':
      return classifyPush(eventType, body);
    case 'git.pullrequest.merged':
    case 'git.pullrequest.updated':
      return classifyPullRequest(eventType, body);
    default:
      return ignore(eventType, `${eventType} events need no refresh`);
  }
}
