import { ACR_SHAPE, classifyACR, isACRPayload } from './acr.js';
import { AZURE_DEVOPS_SHAPE, classifyAzureDevOps, isAzureDevOpsPayload } from './azure-devops.js';
import type { Classification, JSONObject } from './result.js';
import type { Shape } from './select-json.js';

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

/**
 * Every field `classify` reads, for `parseSelected`: the two sources share
 * only `eventType`, a literal in both.
 */
export const BODY_SHAPE: Shape = { ...AZURE_DEVOPS_SHAPE, ...ACR_SHAPE };
