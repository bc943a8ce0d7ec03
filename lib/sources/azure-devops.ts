/**
 * Azure DevOps service hook events (Web Hooks consumer).
 * Payloads: https://learn.microsoft.com/azure/devops/service-hooks/events
 * @module
 */
import Joi from 'joi';
import { normalizeGitURL, normalizePullRequestURL, pullRequestURL } from '../urls.js';
import { isObject, unique, type Classification, type JSONObject } from './result.js';

/** True when the body has the shape of an Azure DevOps service hook event. */
export function isAzureDevOpsPayload(body: JSONObject): boolean {
  return (
    typeof body.eventType === 'string' &&
    body.eventType.length > 0 &&
    (typeof body.publisherId === 'string' || isObject(body.resource))
  );
}

// A ref deletion is reported with an all-zero new object id.
const DELETED = /^0+$/;

const repositorySchema = Joi.object({ remoteUrl: Joi.string().allow('') }).unknown(true);

const pushSchema = Joi.object({
  resource: Joi.object({
    repository: repositorySchema,
    refUpdates: Joi.array().items(
      Joi.object({ name: Joi.string().allow(''), newObjectId: Joi.string().allow('') }).unknown(
        true,
      ),
    ),
  }).unknown(true),
}).unknown(true);

const pullRequestSchema = Joi.object({
  resource: Joi.object({
    repository: repositorySchema,
    pullRequestId: Joi.number().integer().min(1),
    status: Joi.string().allow(''),
    mergeStatus: Joi.string().allow(''),
    _links: Joi.object({ web: Joi.object({ href: Joi.string().allow('') }).unknown(true) }).unknown(
      true,
    ),
  }).unknown(true),
}).unknown(true);

type Resource = JSONObject & {
  repository?: { remoteUrl?: string; defaultBranch?: unknown };
  refUpdates?: Array<{ name?: string; newObjectId?: string }>;
  pullRequestId?: number;
  status?: string;
  mergeStatus?: string;
  _links?: { web?: { href?: string } };
};

function invalid(eventType: string, error: Joi.ValidationError): Classification {
  return {
    action: 'invalid',
    source: 'azure-devops',
    eventType,
    reason: `invalid Azure DevOps ${eventType} event: ${error.details[0]?.message ?? 'bad field'}`,
  };
}

function ignore(eventType: string, reason: string): Classification {
  return { action: 'ignore', source: 'azure-devops', eventType, reason };
}

function classifyPush(eventType: string, body: JSONObject): Classification {
  const { error } = pushSchema.validate(body);
  if (error) return invalid(eventType, error);
  const resource = (body.resource ?? {}) as Resource;
  const remoteUrl = resource.repository?.remoteUrl;
  if (!remoteUrl) {
    // "Resource details to send: Minimal" sends only url and pushId.
    return ignore(
      eventType,
      'nothing refreshed: the push event names no repository (set "Resource details to send" to All)',
    );
  }
  const updates = resource.refUpdates ?? [];
  const live = updates.filter((u) => !DELETED.test(u.newObjectId ?? '') && u.name);
  if (updates.length > 0 && live.length === 0) {
    return ignore(eventType, 'nothing refreshed: the push only deleted refs');
  }
  const defaultBranch = branchName(resource.repository?.defaultBranch);
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
      qualifiers: unique(live.map((u) => u.name as string)),
      ...(defaultBranch ? { defaultBranch } : {}),
    },
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
  const { error } = pullRequestSchema.validate(body);
  if (error) return invalid(eventType, error);
  const resource = (body.resource ?? {}) as Resource;
  const status = (resource.status ?? '').toLowerCase();
  if (eventType === 'git.pullrequest.merged') {
    const mergeStatus = (resource.mergeStatus ?? '').toLowerCase();
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
  const href = resource._links?.web?.href;
  const remoteUrl = resource.repository?.remoteUrl;
  let prURL: string | undefined;
  if (href) prURL = normalizePullRequestURL(href);
  else if (remoteUrl && resource.pullRequestId !== undefined) {
    prURL = pullRequestURL(remoteUrl, resource.pullRequestId);
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

/** Maps a payload for which `isAzureDevOpsPayload` holds. */
export function classifyAzureDevOps(body: JSONObject): Classification {
  const eventType = body.eventType as string;
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
