/**
 * The Warehouses of the scale benchmark: two subscriptions each (an ACR
 * image with a semver constraint, an Azure Repos branch), spread over 100
 * projects, every repository its own, as a large Kargo installation has.
 */
export function scaleWarehouse(i: number): Record<string, unknown> {
  return {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Warehouse',
    metadata: {
      namespace: `project-${i % 100}`,
      name: `service-${i}`,
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { 'app.kubernetes.io/part-of': `system-${i % 100}` },
    },
    spec: {
      interval: '5m0s',
      freightCreationPolicy: 'Automatic',
      subscriptions: [
        {
          image: {
            repoURL: `contoso.azurecr.io/team-${i % 100}/service-${i}`,
            semverConstraint: '^1.0.0',
            imageSelectionStrategy: 'SemVer',
            discoveryLimit: 20,
          },
        },
        {
          git: {
            repoURL: `https://dev.azure.com/contoso/team-${i % 100}/_git/service-${i}`,
            branch: 'main',
            commitSelectionStrategy: 'NewestFromBranch',
            discoveryLimit: 20,
          },
        },
      ],
    },
    status: { lastFreightID: 'a'.repeat(40), observedGeneration: 1 },
  };
}
