/**
 * Builders of webhook bodies as Azure sends them (ACR here, Azure DevOps in azure-devops-payloads.ts), shaped like
 * Microsoft's documented payloads (`spec/fixtures/azure/`): fields a receiver reads come from the arguments, the rest
 * is plausible, and every field all samples share is present. Each returns a fresh object for `supertest(app).post(url).send(body)`.
 * Sources: https://learn.microsoft.com/azure/container-registry/container-registry-webhook-reference
 * and https://learn.microsoft.com/azure/devops/service-hooks/events.
 * @module
 */

/** Docker's v2 image manifest, the `mediaType` of a plain `docker push`. */
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
/** An OCI image manifest (an image, or a Helm chart pushed with `helm push oci://`). */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** A JSON body. */
export type Payload = Record<string, unknown>;

/** The instant of every event (tests compare bodies). */
export const FIXED_TIME = '2026-01-15T10:00:00.000Z';
let sequence = 0;

/** A deterministic UUID-shaped id (tests compare bodies; random ids would not help them). */
export function nextId(): string {
  sequence = (sequence + 1) % 0xffffffff;
  return `00000000-0000-4000-8000-${sequence.toString(16).padStart(12, '0')}`;
}

export function digestOf(text: string): string {
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
