/**
 * Azure Container Registry webhooks.
 * Payloads: https://learn.microsoft.com/azure/container-registry/container-registry-webhook-reference
 * @module
 */
import { normalizeChartURL, normalizeImageURL } from '../matching/urls.js';
import type { ArtifactKind } from '../types.js';
import { capEcho, FieldError, objectField, own, stringField } from './fields.js';
import { isObject, unique, type Classification, type JSONObject } from './result.js';

/** Every `action` ACR documents. */
export const ACR_ACTIONS = [
  'ping',
  'push',
  'delete',
  'chart_push',
  'chart_delete',
  'quarantine',
] as const;

/**
 * True when the body has the shape of an ACR event: an `action` ACR documents,
 * or any string `action` beside a `target` object (an action added later).
 * The User-Agent is no evidence: Microsoft documents none for ACR and
 * proxies rewrite it.
 */
export function isACRPayload(body: JSONObject): boolean {
  const action = own(body, 'action');
  if (typeof action !== 'string' || Object.hasOwn(body, 'eventType')) return false;
  return (ACR_ACTIONS as readonly string[]).includes(action) || isObject(own(body, 'target'));
}

/** The fields of a push that matter, type-checked; throws FieldError. */
function readPush(body: JSONObject): {
  repository: string;
  tag: string;
  mediaType: string;
  host: string;
} {
  const target = objectField(body, 'target', 'target');
  const request = objectField(body, 'request', 'request');
  return {
    repository: stringField(target, 'repository', 'target.repository') ?? '',
    tag: stringField(target, 'tag', 'target.tag') ?? '',
    mediaType: stringField(target, 'mediaType', 'target.mediaType') ?? '',
    host: stringField(request, 'host', 'request.host') ?? '',
  };
}

// Image-only media types: a Docker manifest (v2, list, v1 signed), an OCI index, or an image
// config blob, Docker's or OCI's (Kargo's pkg/webhook/external media types: a config blob
// names an image, never a chart; media_types_test.go "v2 image config blob", "OCI image config blob").
const IMAGE_MEDIA_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.container.image.v1+json',
  'application/vnd.oci.image.config.v1+json',
]);

/**
 * Which subscription kinds a pushed manifest can satisfy. Helm charts pushed
 * to an OCI registry carry `application/vnd.cncf.helm.*` config media types;
 * an OCI image manifest can hold either an image or a chart, so it (and any
 * unknown type) stays a candidate for both.
 */
export function kindsForMediaType(mediaType: string | undefined): ArtifactKind[] {
  const type = (mediaType ?? '').toLowerCase();
  if (IMAGE_MEDIA_TYPES.has(type)) return ['image'];
  if (type.startsWith('application/vnd.cncf.helm')) return ['chart'];
  return ['image', 'chart'];
}

// A Map, not an object literal: `action` is attacker-controlled ("toString").
const NO_ACTION = new Map<string, string>([
  ['delete', 'delete events need no refresh'],
  [
    'chart_push',
    'chart_push events come from legacy ACR Helm repositories, which Kargo cannot subscribe to',
  ],
  ['chart_delete', 'chart_delete events need no refresh'],
  ['quarantine', 'quarantine events need no refresh'],
]);

/**
 * Maps a payload for which `isACRPayload` holds. Reads only the fields it
 * needs; `action` is echoed cut to a few hundred characters.
 */
export function classifyACR(body: JSONObject): Classification {
  const action = capEcho(body.action as string);
  if (action === 'ping') return { action: 'ping', source: 'acr', eventType: 'ping' };
  if (action !== 'push') {
    const reason = NO_ACTION.get(action) ?? `ACR ${action} events need no refresh`;
    return { action: 'ignore', source: 'acr', eventType: action, reason };
  }
  let fields: ReturnType<typeof readPush>;
  try {
    fields = readPush(body);
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    return {
      action: 'invalid',
      source: 'acr',
      eventType: action,
      reason: `invalid ACR push event: ${err.message}`,
    };
  }
  const { repository, host, tag } = fields;
  if (!repository || !host) {
    return {
      action: 'ignore',
      source: 'acr',
      eventType: action,
      reason: 'nothing refreshed: the push event names no registry host and repository',
    };
  }
  const kinds = kindsForMediaType(fields.mediaType);
  const repo = `${host}/${repository}`;
  const repoURLs = unique(
    kinds.map((kind) =>
      kind === 'chart' ? normalizeChartURL(`oci://${repo}`) : normalizeImageURL(repo),
    ),
  );
  return {
    action: 'refresh',
    source: 'acr',
    eventType: action,
    event: {
      type: 'push',
      source: 'acr',
      eventType: action,
      repoURLs,
      kinds,
      qualifiers: tag ? [tag] : [],
    },
  };
}
