/**
 * Near misses: a subscription to what is probably the pushed repository,
 * spelled so that normalization does not join the two (another registry
 * host or login server, another path prefix, another scheme). Case is not
 * among them: every normalizer lowercases, as Kargo's do, so a spelling in
 * another case is the same repository and matches.
 * @module
 */
import type { ArtifactKind } from '../types.js';

/** The parts of a normalized repository URL that two spellings can differ in. */
interface RepositoryParts {
  /** `https`, `http`, `ssh`, or empty for an image reference. */
  scheme: string;
  host: string;
  path: string;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)\/?(.*)$/;

function partsOf(repoURL: string): RepositoryParts {
  const withScheme = SCHEME.exec(repoURL);
  if (withScheme) {
    return {
      scheme: withScheme[1] ?? '',
      host: withScheme[2] ?? '',
      path: withScheme[3] ?? '',
    };
  }
  const segments = repoURL.split('/');
  const first = segments[0] ?? '';
  // Docker's rule for a registry host, as `normalizeImageURL` applies it:
  // a normalized reference without one is on Docker Hub.
  if (segments.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost'))
    return { scheme: '', host: first, path: segments.slice(1).join('/') };
  return { scheme: '', host: 'docker.io', path: repoURL };
}

/**
 * The last path segment of a normalized repository URL (`hello-world` of
 * `myregistry.azurecr.io/team/hello-world`, the repository of an Azure
 * DevOps URL): what two spellings of one repository still share.
 */
export function repositoryName(repoURL: string): string {
  const { path, host } = partsOf(repoURL);
  const segments = path.split('/').filter((s) => s !== '');
  return segments[segments.length - 1] ?? host;
}

/**
 * How `subscribed` differs from `pushed` (both normalized, same repository
 * name), in words a user can act on; undefined when they are equal.
 */
export function describeDifference(
  pushed: string,
  subscribed: string,
  kind: ArtifactKind,
): string | undefined {
  const p = partsOf(pushed);
  const s = partsOf(subscribed);
  const differences: string[] = [];
  if (p.scheme !== s.scheme) {
    differences.push(
      `another scheme: ${s.scheme ? `${s.scheme}://` : 'none'} instead of ${p.scheme ? `${p.scheme}://` : 'none'}`,
    );
  }
  if (p.host !== s.host) {
    const what = kind === 'git' ? 'another host' : 'another registry host or login server';
    differences.push(`${what}: ${s.host} instead of ${p.host}`);
  }
  if (p.path !== s.path) differences.push(`another path prefix: ${s.path} instead of ${p.path}`);
  return differences.length > 0 ? differences.join('; ') : undefined;
}
