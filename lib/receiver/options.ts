/**
 * Options of `azureReceiver`, checked once when the factory is called.
 * @module
 */
import Joi from 'joi';
import {
  type BasicCredentials,
  type SecondFactor,
  SecondFactorError,
  secondFactor,
} from './second-factor.js';
import { adapterMembersOf } from '../adapter-members.js';
import { optionsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { loggerSchema, validate } from '../schemas.js';
import type { ExplainPush, Logger, Lookup, Refresh } from '../types.js';

/** Azure DevOps refuses payloads over 2 MB, so no legitimate body is larger. */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;
/** Refreshes run at most this many at a time for one webhook. */
export const DEFAULT_CONCURRENCY = 16;
/** A webhook is answered within this time at the latest. */
export const DEFAULT_DEADLINE_MS = 20_000;
/** Shortest token accepted: shorter ones can be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/** A token-free summary of one webhook, for logs, metrics and audits. */
export interface WebhookRecord {
  /** `acr` or `azure-devops`, once the body was recognised. */
  source?: 'acr' | 'azure-devops';
  /** The Azure event name (`push`, `git.push`, …), once recognised. */
  eventType?: string;
  /** What happened. */
  outcome: 'not-found' | 'rejected' | 'ping' | 'ignored' | 'refreshed' | 'failed';
  /** The HTTP status answered. */
  status: number;
  /** Stable error code when the status is not 2xx. */
  code?: string;
  /** On a 401: the second factors the request failed and how (`basic-auth: wrong`, `header x-key: missing`), never a value. */
  factorsFailed?: string[];
  /** Normalized repository URLs of a push. */
  repoURLs?: string[];
  /** Tag or refs of a push. */
  qualifiers?: string[];
  /** Normalized URL of a pull request. */
  prURL?: string;
  /** Objects the lookup found. */
  matched: number;
  /** Objects refreshed successfully. */
  refreshed: number;
  /** Objects whose refresh failed. */
  failed: number;
  /** Time from the request's arrival to the answer, in milliseconds. */
  durationMs: number;
  /** Why a push (or pull request event) refreshed nothing, as the answer's `hint` says it. */
  hint?: string;
  /** Labels of the endpoint that took the request (project and receiver for `kargoReceivers`). */
  labels?: Record<string, string>;
}

/** Options of {@link azureReceiver}. */
export interface AzureReceiverOptions {
  /** Accepted URL tokens (`<mount point>/<token>`; several to rotate): 16+ of `[A-Za-z0-9._~-]`, see `kargoToken()`. */
  token: string | string[];
  /** Finds the Warehouses (or Promotions) an event concerns. */
  lookup: Lookup;
  /** Refreshes one Warehouse or Promotion. */
  refresh: Refresh;
  /** Largest accepted body in bytes; larger ones get 413. Default 2 MiB (2097152), Azure DevOps' own limit. */
  maxBodyBytes?: number;
  /** How many refreshes of one webhook run at once. Default 16. */
  concurrency?: number;
  /** A pino-compatible logger. Default: silent. The URL token is never logged. */
  logger?: Logger;
  /** Called once per request with a token-free summary (metrics, audit). Must not throw. */
  onWebhook?: (record: WebhookRecord) => void;
  /**
   * Latest answer after arrival: past it, a running lookup or refreshes answer 503, which Azure
   * retries (a dropped connection is not a transient failure to it). Default 20000 ms.
   */
  deadlineMs?: number;
  /** Second factor: accepted basic auth credentials (several to rotate); else 401 before the body is read. */
  basicAuth?: BasicCredentials | BasicCredentials[];
  /** Second factor: header name (any case) → accepted value(s), every one required; as `basicAuth`. */
  headers?: Record<string, string | string[]>;
  /**
   * Graceful shutdown: once aborted, webhooks waiting on lookup or refreshes (and later ones) answer
   * 503 at once, as past `deadlineMs`. `serve` aborts it after `--shutdown-timeout`. Default: none.
   */
  signal?: AbortSignal;
  /**
   * List in push answers the subscribed Warehouses, refreshed or why not, and near misses. Needs
   * the adapter's `explainPush`. Default false: only `msg`, and a `hint` when nothing was refreshed.
   */
  explain?: boolean;
  /** Finds the Warehouses a push concerns and why (spread from the adapter). Optional. */
  explainPush?: ExplainPush;
}

/** The fully-defaulted configuration the request pipeline runs on. */
export interface HandlerConfig {
  deadlineMs: number;
  signal: AbortSignal | undefined;
  maxBodyBytes: number;
  concurrency: number;
  logger: Logger;
  onWebhook: ((record: WebhookRecord) => void) | undefined;
  /** Add the subscribed Warehouses to push answers. */
  explain: boolean;
}

/** What `azureReceiver` runs on after validation. */
export interface ReceiverConfig extends HandlerConfig {
  tokens: string[];
  lookup: Lookup;
  refresh: Refresh;
  /** Compiled from `basicAuth` and `headers`; undefined when neither is given. */
  secondFactor: SecondFactor | undefined;
  explainPush: ExplainPush | undefined;
}

/** Types only: the values are checked by `secondFactor()`, whose messages never echo a value. */
const CREDENTIALS = Joi.object({
  username: Joi.string().required(),
  password: Joi.string().required(),
});
const secondFactorSchema = {
  basicAuth: Joi.alternatives().try(CREDENTIALS, Joi.array().items(CREDENTIALS).min(1)).messages({
    'alternatives.types':
      '{{#label}} must be an object with username and password, or an array of them',
  }),
  headers: Joi.object()
    .pattern(
      Joi.string(),
      Joi.alternatives().try(Joi.string(), Joi.array().items(Joi.string()).min(1)),
    )
    .min(1),
};

const TOKEN = Joi.string()
  .min(MIN_TOKEN_LENGTH)
  .pattern(/^[A-Za-z0-9._~-]+$/)
  .messages({
    'string.min': `{{#label}} must be at least ${MIN_TOKEN_LENGTH} characters: a short token in a URL can be guessed (use kargoToken() or 32 random bytes in hex)`,
    'string.pattern.base': '{{#label}} must use only URL-safe characters [A-Za-z0-9._~-]',
    'string.empty': '{{#label}} must not be empty',
  });

const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** The parts shared with `kargoReceivers`. */
export const handlerSchema = {
  maxBodyBytes: Joi.number().integer().min(1).max(MAX_BODY_BYTES).default(DEFAULT_MAX_BODY_BYTES),
  concurrency: Joi.number().integer().min(1).max(1024).default(DEFAULT_CONCURRENCY),
  logger: loggerSchema.default(silentLogger),
  onWebhook: Joi.function(),
  deadlineMs: Joi.number().integer().min(1).max(600_000).default(DEFAULT_DEADLINE_MS),
  signal: Joi.object()
    .instance(AbortSignal)
    .messages({ 'object.instance': '{{#label}} must be an AbortSignal' }),
  explain: Joi.boolean().default(false),
} satisfies Record<keyof HandlerConfig, Joi.Schema>;

const ADAPTER_MEMBER = Joi.function().required().messages({
  'any.required':
    '{{#label}} is required: spread an adapter into the options, such as memoryAdapter() or kubernetesAdapter()',
});

const schema = Joi.object({
  token: Joi.alternatives()
    .try(TOKEN, Joi.array().items(TOKEN).min(1).unique())
    .required()
    .messages({
      'alternatives.types': '{{#label}} must be a string or an array of strings',
      'array.min': '{{#label}} must hold at least one token',
    }),
  lookup: ADAPTER_MEMBER,
  refresh: ADAPTER_MEMBER,
  explainPush: Joi.function(),
  ...handlerSchema,
  ...secondFactorSchema,
});

/** Every option name: what a misspelt name is compared with. */
const RECEIVER_OPTION_NAMES = Object.keys(schema.describe().keys ?? {});

/**
 * The options without a spread adapter's own members (`ADAPTER_MEMBERS`), so `{ token, ...adapter }`
 * passes; a member named like an option is refused: ignoring it would drop the option.
 */
function withoutAdapterMembers(options: object): Record<string, unknown> {
  const members = adapterMembersOf(options);
  const clash = members.find((name) => RECEIVER_OPTION_NAMES.includes(name));
  if (clash !== undefined) {
    throw optionsError(
      `options.${clash}: the spread adapter lists '${clash}' as a member of its own, but it is an option of azureReceiver; rename the adapter's member`,
    );
  }
  return Object.fromEntries(Object.entries(options).filter(([key]) => !members.includes(key)));
}

/** The handler's part of validated options: every factory builds its config with it. */
export function pickHandlerConfig(valid: HandlerConfig): HandlerConfig {
  const pick = (key: string) => [key, valid[key as keyof HandlerConfig]];
  return Object.fromEntries(Object.keys(handlerSchema).map(pick)) as HandlerConfig;
}

/** Validates `azureReceiver` options and fills in the defaults. */
export function receiverConfig(options: AzureReceiverOptions): ReceiverConfig {
  if (typeof options !== 'object' || options === null) throw optionsError('options are required');
  const valid = validate<AzureReceiverOptions & HandlerConfig>(
    schema,
    withoutAdapterMembers(options),
    RECEIVER_OPTION_NAMES,
  );
  let factor: SecondFactor | undefined;
  try {
    factor = secondFactor(valid);
  } catch (err) {
    if (err instanceof SecondFactorError) throw optionsError(err.message);
    throw err;
  }
  return {
    secondFactor: factor,
    tokens: typeof valid.token === 'string' ? [valid.token] : valid.token,
    lookup: valid.lookup,
    refresh: valid.refresh,
    explainPush: valid.explainPush,
    ...pickHandlerConfig(valid),
  };
}
