/**
 * Fills a fake API server with many large Secrets that no receiver
 * references, as a real cluster holds them: Helm 3 stores each release
 * revision as a Secret `sh.helm.release.v1.<release>.v<n>` of type
 * `helm.sh/release.v1`, whose `data.release` is a gzipped, base64-encoded
 * manifest of tens to hundreds of KiB (helm/helm `pkg/storage/driver/secrets.go`,
 * `newSecretsObject`). A receiver that lists or watches every Secret pays for
 * all of them; one that reads only its own must not notice them.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { FakeKubeApi } from './fake-kube-api.js';

/** Options of {@link putUnrelatedSecrets}. */
export interface UnrelatedSecrets {
  /** Namespaces to spread them over (round robin). */
  namespaces: readonly string[];
  /** How many Secrets. */
  count: number;
  /** Bytes of `data.release` before base64 (random, so nothing compresses it). */
  bytesEach: number;
}

/** Puts `count` Helm-release-like Secrets; returns the total size of their `data` as sent (base64). */
export function putUnrelatedSecrets(api: FakeKubeApi, options: UnrelatedSecrets): number {
  let total = 0;
  for (let i = 0; i < options.count; i++) {
    const namespace = options.namespaces[i % options.namespaces.length] ?? 'default';
    const release = randomBytes(options.bytesEach).toString('base64');
    total += release.length;
    api.put({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'helm.sh/release.v1',
      metadata: {
        namespace,
        name: `sh.helm.release.v1.app-${String(i)}.v1`,
        labels: { owner: 'helm', name: `app-${String(i)}`, status: 'deployed', version: '1' },
      },
      data: { release },
    });
  }
  return total;
}
