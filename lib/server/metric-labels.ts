/** Label values of the metrics, from fixed sets: no series carries a token or grows unbounded. @module */
import { ACR_ACTIONS } from '../sources/acr.js';

/** Azure event names kept as label values; any other becomes `other`. */
export const EVENT_TYPES: ReadonlySet<string> = new Set([
  ...ACR_ACTIONS,
  // Azure DevOps (https://learn.microsoft.com/azure/devops/service-hooks/events)
  'git.push',
  'git.pullrequest.created',
  'git.pullrequest.updated',
  'git.pullrequest.merged',
]);

const SOURCES: ReadonlySet<string> = new Set(['acr', 'azure-devops']);

/** `eventType` as a bounded label value. */
export function eventLabel(eventType: string | undefined): string {
  if (eventType === undefined) return 'none';
  return EVENT_TYPES.has(eventType) ? eventType : 'other';
}

export function sourceLabel(source: string | undefined): string {
  if (source === undefined) return 'none';
  return SOURCES.has(source) ? source : 'other';
}

export function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
}
