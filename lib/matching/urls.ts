/**
 * Repository URL normalization: every spelling of one repository becomes one
 * string, so webhook and Warehouse `repoURL`s compare with `===`. Follows Kargo's
 * `pkg/urls/git.go`, `image.go`, `helm.go` (akuity/kargo); Azure DevOps forms unified on top.
 * @module
 */

/** Characters that survive copy and paste unseen and break URL parsing (Kargo's `SanitizeURL` strips them too). */
const INVISIBLE = /\u200B|\u200C|\u200D|\u2060|\uFEFF/g;

function sanitize(url: string): string {
  return url.replace(INVISIBLE, '').trim();
}

/** The hosts Kargo treats as Docker Hub (`pkg/urls/image.go`; go-containerregistry maps `docker.io` to `index.docker.io`). */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Kargo's pattern for scp-like Git URLs, `[user@]host.xz[:path]` (`pkg/urls/git.go`). */
const SCP_LIKE = /^((?:[\w-]+@)?[\w-]+(?:\.[\w-]+)*)(?::(.*))?$/;

/** The one canonical host of Azure DevOps Services repository URLs. */
const AZURE_CANONICAL_HOST = 'https://dev.azure.com';

/** An Azure DevOps Git URL's parts, decoded and lowercased; `rest` follows the repository (`['pullrequest', '1']`). */
interface AzureRepo {
  org: string;
  project: string;
  repo: string;
  rest: string[];
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Encodes one decoded, lowercased path segment the same way whatever its input spelling. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment.toLowerCase());
}

function splitPath(path: string): string[] {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map(decodeSegment);
}

function stripGitSuffix(segment: string): string {
  return segment.toLowerCase().endsWith('.git') ? segment.slice(0, -4) : segment;
}

/**
 * Reads `[DefaultCollection/][project/]_git/repo[/rest…]` after the organization:
 * `DefaultCollection` is the old collection segment, and `_git/repo` alone means the
 * project named like the repository (spec/fixtures/azure/devops-git-push.json, devops-test-git-push.json).
 */
function parseAzureWebPath(org: string, segments: string[]): AzureRepo | undefined {
  let rest = segments;
  if (rest[0]?.toLowerCase() === 'defaultcollection') rest = rest.slice(1);
  let project: string | undefined;
  if (rest[0]?.toLowerCase() === '_git') {
    rest = rest.slice(1);
  } else if (rest[1]?.toLowerCase() === '_git') {
    project = rest[0];
    rest = rest.slice(2);
  } else {
    return undefined;
  }
  const repoSegment = rest[0];
  if (repoSegment === undefined || org === '') return undefined;
  const repo = stripGitSuffix(repoSegment);
  if (repo === '') return undefined;
  return {
    org: org.toLowerCase(),
    project: (project ?? repo).toLowerCase(),
    repo: repo.toLowerCase(),
    rest: rest.slice(1),
  };
}

/** Reads the SSH path `v3/{org}/{project}/{repo}` of `ssh.dev.azure.com` and `vs-ssh.visualstudio.com`. */
function parseAzureSSHPath(segments: string[]): AzureRepo | undefined {
  const [v3, org, project, repoSegment, ...rest] = segments;
  if (
    v3?.toLowerCase() !== 'v3' ||
    org === undefined ||
    project === undefined ||
    repoSegment === undefined
  ) {
    return undefined;
  }
  const repo = stripGitSuffix(repoSegment);
  if (repo === '') return undefined;
  return { org: org.toLowerCase(), project: project.toLowerCase(), repo: repo.toLowerCase(), rest };
}

function isAzureSSHHost(host: string): boolean {
  return host === 'ssh.dev.azure.com' || host === 'vs-ssh.visualstudio.com';
}

/**
 * Recognizes every Azure DevOps Services repository spelling: HTTPS on `dev.azure.com/{org}`
 * or `{org}.visualstudio.com`, SSH on `ssh.dev.azure.com` or `vs-ssh.visualstudio.com`.
 * See https://learn.microsoft.com/en-us/azure/devops/repos/git/use-ssh-keys-to-authenticate
 * and https://learn.microsoft.com/en-us/azure/devops/release-notes/2018/sep-10-azure-devops-launch#administration.
 */
function parseAzure(input: string): AzureRepo | undefined {
  const lower = input.toLowerCase();
  if (lower.startsWith('https://') || lower.startsWith('http://') || lower.startsWith('ssh://')) {
    let parsed: URL;
    try {
      parsed = new URL(input);
    } catch {
      return undefined;
    }
    const host = parsed.hostname.toLowerCase();
    const segments = splitPath(parsed.pathname);
    if (parsed.protocol === 'ssh:') {
      return isAzureSSHHost(host) ? parseAzureSSHPath(segments) : undefined;
    }
    if (host === 'dev.azure.com') {
      const [org, ...rest] = segments;
      return org === undefined ? undefined : parseAzureWebPath(org, rest);
    }
    if (host.endsWith('.visualstudio.com') && !isAzureSSHHost(host)) {
      return parseAzureWebPath(host.slice(0, -'.visualstudio.com'.length), segments);
    }
    return undefined;
  }
  const scp = /^[^@/:]+@([^/:]+):(.*)$/.exec(input);
  if (scp?.[1] !== undefined && scp[2] !== undefined && isAzureSSHHost(scp[1].toLowerCase())) {
    return parseAzureSSHPath(splitPath(scp[2].split(/[?#]/)[0] ?? ''));
  }
  return undefined;
}

function azureRepoURL(repo: AzureRepo): string {
  return `${AZURE_CANONICAL_HOST}/${encodeSegment(repo.org)}/${encodeSegment(repo.project)}/_git/${encodeSegment(repo.repo)}`;
}

function trimRepoPath(path: string): string {
  let p = path;
  while (p.endsWith('/')) p = p.slice(0, -1);
  if (p.endsWith('.git')) p = p.slice(0, -4);
  return p;
}

/**
 * Normalizes a Git repository URL for comparison. Any Azure DevOps Services form becomes
 * `https://dev.azure.com/{org}/{project}/_git/{repo}`, lowercased and `encodeURIComponent`-encoded.
 * Others follow Kargo: lowercased; HTTP(S) user info dropped (kept for SSH); trailing `/` and
 * `.git` dropped; scp-like `[user@]host:path` becomes `ssh://[user@]host/path`.
 * Never throws: unparseable input comes back trimmed and lowercased.
 */
export function normalizeGitURL(url: string): string {
  const input = sanitize(url);
  const azure = parseAzure(input);
  if (azure !== undefined && azure.rest.length === 0) return azureRepoURL(azure);

  const lower = input.toLowerCase();
  if (/^(https?|ssh):\/\//.test(lower)) {
    let parsed: URL;
    try {
      parsed = new URL(lower);
    } catch {
      return lower;
    }
    // Kargo leaves URLs with a query as they are (`pkg/urls/git.go`).
    if (parsed.search !== '') return lower;
    const path = trimRepoPath(parsed.pathname);
    if (parsed.protocol === 'ssh:') {
      const user = parsed.username === '' ? '' : `${parsed.username}@`;
      return `ssh://${user}${parsed.host}${path}`;
    }
    return `${parsed.protocol}//${parsed.host}${path}`;
  }
  const scp = SCP_LIKE.exec(lower);
  if (scp?.[1] !== undefined) {
    const path = trimRepoPath(scp[2] ?? '').replace(/^\/+/, '');
    return path === '' ? `ssh://${scp[1]}` : `ssh://${scp[1]}/${path}`;
  }
  return lower;
}

/**
 * Normalizes a container image repository URL as Kargo does: lowercased, tag or digest
 * dropped, Docker Hub spellings unified to the short form (`docker.io/library/nginx` → `nginx`).
 * Non-references (`invalid url`) come back only trimmed, as in Kargo's `pkg/urls/image_test.go`.
 * Never throws.
 */
export function normalizeImageURL(url: string): string {
  const input = sanitize(url);
  let ref = input.toLowerCase();
  // go-containerregistry's alphabets: registry host (and port, IPv6 brackets), repository
  // `[a-z0-9_./-]`, tag `[\w.-]`, digest `algo:hex` (pkg/name/registry.go, repository.go, tag.go).
  if (!/^[a-z0-9._\-/:@[\]]*$/.test(ref)) return input;
  const at = ref.indexOf('@');
  if (at !== -1) ref = ref.slice(0, at);
  const lastColon = ref.lastIndexOf(':');
  if (lastColon > ref.lastIndexOf('/')) ref = ref.slice(0, lastColon);
  while (ref.endsWith('/')) ref = ref.slice(0, -1);

  const segments = ref.split('/');
  const first = segments[0] ?? '';
  // Docker's rule for telling a registry host from a Docker Hub namespace.
  const hasRegistry =
    segments.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry && !DOCKER_HUB.has(first)) return ref;
  const path = hasRegistry ? segments.slice(1).join('/') : ref;
  return path.startsWith('library/') ? path.slice('library/'.length) : path;
}

/**
 * Normalizes a Helm chart repository URL as Kargo does: lowercased, `oci://` and trailing `/`
 * dropped; OCI ones then go through {@link normalizeImageURL}. Never throws.
 */
export function normalizeChartURL(url: string): string {
  let ref = sanitize(url).toLowerCase();
  if (ref.startsWith('oci://')) ref = ref.slice('oci://'.length);
  while (ref.endsWith('/')) ref = ref.slice(0, -1);
  if (ref.startsWith('http://') || ref.startsWith('https://')) return ref;
  return normalizeImageURL(ref);
}

/**
 * Normalizes an Azure DevOps pull request URL to `https://dev.azure.com/{org}/{project}/_git/{repo}/pullrequest/{id}`
 * whatever its host form, case, trailing `/`, query or fragment. Other URLs come back
 * trimmed, lowercased, without query, fragment or trailing `/`. Never throws.
 */
export function normalizePullRequestURL(url: string): string {
  const input = sanitize(url);
  const azure = parseAzure(input);
  const [page, id, ...extra] = azure?.rest ?? [];
  if (
    azure !== undefined &&
    page?.toLowerCase() === 'pullrequest' &&
    id !== undefined &&
    /^\d+$/.test(id) &&
    extra.length === 0
  ) {
    return `${azureRepoURL(azure)}/pullrequest/${String(Number(id))}`;
  }
  let rest = input.toLowerCase().split('#')[0] ?? '';
  rest = rest.split('?')[0] ?? '';
  while (rest.endsWith('/')) rest = rest.slice(0, -1);
  return rest;
}

/** Builds the canonical pull request URL from a repository URL in any form and an id (payloads without `_links.web.href`). */
export function pullRequestURL(repoRemoteURL: string, id: number): string {
  return `${normalizeGitURL(repoRemoteURL)}/pullrequest/${String(id)}`;
}
