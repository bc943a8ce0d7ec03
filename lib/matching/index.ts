/**
 * Which Kargo objects an event concerns: Warehouses by subscribed repository
 * and qualifier rules, running Promotions by the pull request they wait on.
 * @module
 */
export { WarehouseIndex } from './warehouse-index.js';
export type {
  MatchOptions,
  NearMiss,
  WarehouseExplanation,
  WarehouseIndexOptions,
} from './warehouse-index.js';
export { PromotionIndex } from './promotion-index.js';
export type { PromotionIndexOptions } from './promotion-index.js';
export { compileConstraint, parseTagVersion } from './semver-constraint.js';
export type { Constraint } from './semver-constraint.js';
