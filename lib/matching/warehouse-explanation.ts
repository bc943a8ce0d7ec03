/**
 * Why a Warehouse takes a push or not, in words: the `explain` answers and
 * the hints of a push that refreshed nothing.
 * @module
 */
import type { ArtifactKind, PushEvent, WarehouseExplanation } from '../types.js';
import type { RuleContext } from './qualifiers.js';
import type { CompiledSubscription } from './subscriptions.js';

/**
 * Why `sub` does not take any of `qualifiers`, or undefined when it takes one.
 * No qualifiers means the event carries nothing to filter on: every subscriber
 * matches.
 */
export function checkQualifiers(
  sub: CompiledSubscription,
  qualifiers: readonly string[],
  context: RuleContext,
): string | undefined {
  if (qualifiers.length === 0) return undefined;
  const reasons: string[] = [];
  for (const qualifier of qualifiers) {
    const reason = sub.rule(qualifier, context);
    if (reason === undefined) return undefined;
    reasons.push(reason);
  }
  return reasons.join('; ');
}

/** `image myregistry.azurecr.io/app`: the subscription column of an explanation. */
function describe(sub: CompiledSubscription): string {
  return `${sub.kind} ${sub.repoURL}`;
}

/** Where the subscription sits in the manifest. */
function label(sub: CompiledSubscription): string {
  return `spec.subscriptions[${String(sub.index)}]`;
}

const QUALIFIER_NOUN: Record<ArtifactKind, string> = { git: '', image: 'tag ', chart: 'version ' };

/** Which qualifier `sub` takes, in words, with the note of its rule (the default branch it followed). */
function takes(sub: CompiledSubscription, event: PushEvent): string {
  const taken = event.qualifiers.find((q) => sub.rule(q, event) === undefined);
  const what =
    taken === undefined
      ? 'the push (it names no tag or ref to filter on)'
      : sub.kind === 'git'
        ? taken
        : `${QUALIFIER_NOUN[sub.kind]}${JSON.stringify(taken)}`;
  const note = taken === undefined ? undefined : sub.rule.note?.(event);
  return `${label(sub)} takes ${what}${note ? ` (${note})` : ''}`;
}

const WITH_ARTICLE: Record<ArtifactKind, string> = {
  git: 'a git',
  image: 'an image',
  chart: 'a chart',
};

/** `an image`, `an image or a chart`: what a push can be, for reasons. */
function kindsPhrase(kinds: readonly ArtifactKind[]): string {
  return kinds.length === 0 ? 'nothing' : kinds.map((kind) => WITH_ARTICLE[kind]).join(' or ');
}

/** Whether a Warehouse takes the push, by the first of `subs` (its subscriptions to a pushed repository) that does, and why (not). */
export function explainWarehouse(
  warehouse: { namespace: string; name: string },
  subs: CompiledSubscription[],
  event: PushEvent,
): WarehouseExplanation {
  subs.sort((a, b) => a.index - b.index);
  const reasons: string[] = [];
  let matched: CompiledSubscription | undefined;
  for (const sub of subs) {
    if (!event.kinds.includes(sub.kind)) {
      reasons.push(
        `${label(sub)} is ${WITH_ARTICLE[sub.kind]} subscription; the push is ${kindsPhrase(event.kinds)}`,
      );
      continue;
    }
    const reason = checkQualifiers(sub, event.qualifiers, event);
    if (reason === undefined) {
      matched = sub;
      break;
    }
    reasons.push(`${label(sub)}: ${reason}`);
  }
  const shown = matched ?? subs[0];
  return {
    namespace: warehouse.namespace,
    name: warehouse.name,
    refreshed: matched !== undefined,
    subscription: shown === undefined ? '' : describe(shown),
    reason: matched ? takes(matched, event) : reasons.join('; '),
  };
}
