import { classifyACR, isACRPayload } from './acr.js';
import { classifyAzureDevOps, isAzureDevOpsPayload } from './azure-devops.js';
import type { Classification, JSONObject } from './result.js';

export type { Classification } from './result.js';

/**
 * Tells ACR from Azure DevOps by the payload's shape and maps it; undefined
 * when the body is neither.
 */
export function classify(body: JSONObject): Classification | undefined {
  if (isAzureDevOpsPayload(body)) return classifyAzureDevOps(body);
  if (isACRPayload(body)) return classifyACR(body);
  return undefined;
}
