/**
 * Azure Container Registry webhooks.
 * Payloads: https://learn.microsoft.com/azure/container-registry/container-registry-webhook-reference
 * @module
 */
import Joi from 'joi';
import { normalizeChartURL, normalizeImageURL } from '../urls.js';
import type { ArtifactKind } from '../types.js';
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
  if (typeof body.action !== 'string' || 'eventType' in body) return false;
  return (ACR_ACTIONS as readonly string[]).includes(body.action) || isObject(body.target);
}

const pushSchema = Joi.object({
  action: Joi.string().required(),
  target: Joi.object({
    repository: Joi.string().allow(''),
    tag: Joi.string().allow(''),
    mediaType: Joi.string().allow(''),
  }).unknown(true),
  request: Joi.object({ host: Joi.string().allow('') }).unknown(true),
}).unknown(true);

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

/** Maps a payload for which `isACRPayload` holds. */
export function classifyACR(body: JSONObject): Classification {
  const action = body.action as string;
  if (action === 'ping') return { action: 'ping', source: 'acr', eventType: 'ping' };
  if (action !== 'push') {
    const reason = NO_ACTION.get(action) ?? `ACR ${action} events need no refresh`;
    return { action: 'ignore', source: 'acr', eventType: action, reason };
  }
  const { error } = pushSchema.validate(body);
  if (error) {
    return {
      action: 'invalid',
      source: 'acr',
      eventType: action,
      reason: `invalid ACR push event: ${error.details[0]?.message ?? 'bad field'}`,
    };
  }
  const target = isObject(body.target) ? body.target : {};
  const request = isObject(body.request) ? body.request : {};
  const repository = typeof target.repository === 'string' ? target.repository : '';
  const host = typeof request.host === 'string' ? request.host : '';
  if (!repository || !host) {
    return {
      action: 'ignore',
      source: 'acr',
      eventType: action,
      reason: 'nothing refreshed: the push event names no registry host and repository',
    };
  }
  const kinds = kindsForMediaType(
    typeof target.mediaType === 'string' ? target.mediaType : undefined,
  );
  const repo = `${host}/${repository}`;
  const repoURLs = unique(
    kinds.map((kind) =>
      kind === 'chart' ? normalizeChartURL(`oci://${repo}`) : normalizeImageURL(repo),
    ),
  );
  const tag = typeof target.tag === 'string' ? target.tag : '';
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
