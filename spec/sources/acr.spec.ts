import assert from 'node:assert/strict';
import { kindsForMediaType } from '../../lib/sources/acr.js';

// Kargo's pkg/webhook/external/media_types_test.go (TestGetNormalizedImageRepoURLs), case by case.
describe('kindsForMediaType', () => {
  const cases: Array<{ name: string; mediaType: string | undefined; kinds: string[] }> = [
    {
      name: 'v2 manifest list',
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      kinds: ['image'],
    },
    {
      name: 'OCI manifest index',
      mediaType: 'application/vnd.oci.image.index.v1+json',
      kinds: ['image'],
    },
    {
      name: 'v2 manifest',
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      kinds: ['image'],
    },
    {
      name: 'OCI manifest (image or chart)',
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      kinds: ['image', 'chart'],
    },
    {
      name: 'v2 image config blob',
      mediaType: 'application/vnd.docker.container.image.v1+json',
      kinds: ['image'],
    },
    {
      name: 'OCI image config blob',
      mediaType: 'application/vnd.oci.image.config.v1+json',
      kinds: ['image'],
    },
    {
      name: 'Helm chart config blob',
      mediaType: 'application/vnd.cncf.helm.config.v1+json',
      kinds: ['chart'],
    },
    { name: 'something completely unexpected', mediaType: 'nonsense', kinds: ['image', 'chart'] },
    { name: 'none', mediaType: undefined, kinds: ['image', 'chart'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(kindsForMediaType(c.mediaType), c.kinds);
    });
  }
});
