/**
 * Kargo's validating admission webhooks for Promotions and Warehouses, as a
 * hook of the fake API server (`api.admission = new FakeKargoAdmission(…).hook`),
 * plus a small RBAC evaluator so a spec can feed it the roles the Helm chart renders.
 *
 * What is copied, from akuity/kargo:
 * - `pkg/webhook/kubernetes/promotion/webhook.go`: `ValidateUpdate` calls
 *   `authorize(promo, "update")`, which creates a SubjectAccessReview for the
 *   verb `promote` on `stages/<spec.stage>` (group `kargo.akuity.io`) in the
 *   Promotion's namespace, and refuses with
 *   `apierrors.NewInternalError(apierrors.NewForbidden(…))`: HTTP 500,
 *   reason `InternalError`. Only the external webhooks server's own user
 *   (`externalWebhooksServerUsername`, Kargo 1.11+) skips the check. Then the
 *   spec must be unchanged (`spec is immutable`, 422 Invalid).
 * - `pkg/webhook/kubernetes/warehouse/webhook.go`: `ValidateUpdate` only
 *   validates the spec; no SubjectAccessReview, so `patch` suffices.
 *
 * And from Kubernetes: the API server wraps a webhook's refusal as
 * `admission webhook "<name>" denied the request: <message>`, keeping the
 * webhook's code and reason
 * (`staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/errors/statuserror.go`,
 * `ToStatusErr`); `NewInternalError` prefixes `Internal error occurred: `
 * and `NewForbidden` says `<Resource>.<group> "<name>" is forbidden: <why>`
 * (`staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go`).
 * @module
 */
import {
  type AdmissionHook,
  type AdmissionRequest,
  type KubeObject,
  type RequestAttributes,
  statusObject,
} from './fake-kube-api.js';

/** The resource attributes of a SubjectAccessReview (authorization/v1 `ResourceAttributes`). */
export type ResourceAttributes = RequestAttributes;

/** Answers a SubjectAccessReview: may `username` do this? */
export type Authorizer = (username: string, attributes: ResourceAttributes) => boolean;

/** The name of Kargo's validating webhook for Promotions (its chart's ValidatingWebhookConfiguration). */
export const PROMOTION_WEBHOOK = 'promotion.kargo.akuity.io';
/** The name of Kargo's validating webhook for Warehouses. */
export const WAREHOUSE_WEBHOOK = 'warehouse.kargo.akuity.io';

const KARGO_GROUP = 'kargo.akuity.io';

/** One webhook call, as recorded. */
export interface AdmissionCall {
  webhook: string;
  namespace: string | undefined;
  name: string;
  username: string;
  /** The SubjectAccessReview it made, if any. */
  review?: ResourceAttributes;
  allowed: boolean;
}

function deniedBy(webhook: string, status: KubeObject): KubeObject {
  return {
    ...status,
    message: `admission webhook "${webhook}" denied the request: ${String(status.message)}`,
  };
}

/** Kargo's Promotion and Warehouse validating webhooks. */
export class FakeKargoAdmission {
  /** Every webhook call, in order. */
  readonly calls: AdmissionCall[] = [];
  readonly #authorize: Authorizer;
  readonly #exempt: string | undefined;

  /**
   * @param options.authorize answers the webhook's SubjectAccessReviews
   * @param options.exemptUsername the user that skips the `promote` check (Kargo 1.11+: its external webhooks server)
   */
  constructor(options: { authorize: Authorizer; exemptUsername?: string }) {
    this.#authorize = options.authorize;
    this.#exempt = options.exemptUsername;
  }

  /** The hook to set as `FakeKubeApi.admission`. */
  readonly hook: AdmissionHook = (request) => {
    if (request.group !== KARGO_GROUP || request.subresource !== undefined) return undefined;
    if (request.plural === 'promotions') return this.#promotion(request);
    if (request.plural === 'warehouses') {
      this.calls.push({
        webhook: WAREHOUSE_WEBHOOK,
        namespace: request.namespace,
        name: request.name,
        username: request.userInfo.username,
        allowed: true,
      });
    }
    return undefined;
  };

  #promotion(request: AdmissionRequest): KubeObject | undefined {
    const { username } = request.userInfo;
    const spec = (request.object.spec ?? {}) as { stage?: unknown };
    const stage = typeof spec.stage === 'string' ? spec.stage : '';
    const call: AdmissionCall = {
      webhook: PROMOTION_WEBHOOK,
      namespace: request.namespace,
      name: request.name,
      username,
      allowed: true,
    };
    this.calls.push(call);
    if (username !== this.#exempt) {
      const review: ResourceAttributes = {
        verb: 'promote',
        group: KARGO_GROUP,
        resource: 'stages',
        namespace: request.namespace,
        name: stage,
      };
      call.review = review;
      if (!this.#authorize(username, review)) {
        call.allowed = false;
        const forbidden = `Promotion.${KARGO_GROUP} "${request.name}" is forbidden: subject "${username}" is not permitted to update Promotions for Stage "${stage}"`;
        return deniedBy(
          PROMOTION_WEBHOOK,
          statusObject(500, `Internal error occurred: ${forbidden}`, {
            causes: [{ message: forbidden }],
          }),
        );
      }
    }
    if (JSON.stringify(request.object.spec) !== JSON.stringify(request.oldObject.spec)) {
      call.allowed = false;
      return deniedBy(
        PROMOTION_WEBHOOK,
        statusObject(
          422,
          `Promotion.${KARGO_GROUP} "${request.name}" is invalid: spec: Invalid value: "object": spec is immutable`,
        ),
      );
    }
    return undefined;
  }
}

/** A document of an RBAC manifest (only what the evaluator reads). */
export interface RbacDocument {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: {
    apiGroups?: string[];
    resources?: string[];
    resourceNames?: string[];
    verbs?: string[];
  }[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

function has(list: readonly string[] | undefined, value: string): boolean {
  return (list ?? []).some((v) => v === '*' || v === value);
}

/**
 * An authorizer from Roles, ClusterRoles and their bindings, evaluated as
 * Kubernetes' RBAC authorizer does (`plugin/pkg/auth/authorizer/rbac/rbac.go`
 * and `pkg/apis/rbac/v1/evaluation_helpers.go`: a rule allows when verb, API
 * group and resource match, `*` included, and `resourceNames` is empty or
 * names the object). A ClusterRoleBinding grants everywhere; a RoleBinding
 * grants in its own namespace only. Subjects are ServiceAccounts, seen as
 * `system:serviceaccount:<namespace>:<name>`.
 */
export function rbacAuthorizer(documents: readonly RbacDocument[]): Authorizer {
  const role = (
    kind: string,
    name: string,
    namespace: string | undefined,
  ): RbacDocument | undefined =>
    documents.find(
      (d) =>
        d.kind === kind &&
        d.metadata.name === name &&
        (kind === 'ClusterRole' || d.metadata.namespace === namespace),
    );
  return (username, attributes) =>
    documents.some((binding) => {
      if (binding.kind !== 'RoleBinding' && binding.kind !== 'ClusterRoleBinding') return false;
      const bindingNamespace =
        binding.kind === 'RoleBinding' ? binding.metadata.namespace : undefined;
      if (bindingNamespace !== undefined && bindingNamespace !== attributes.namespace) return false;
      const bound = (binding.subjects ?? []).some(
        (s) =>
          s.kind === 'ServiceAccount' &&
          `system:serviceaccount:${s.namespace ?? ''}:${s.name}` === username,
      );
      if (!bound || !binding.roleRef) return false;
      const granted = role(binding.roleRef.kind, binding.roleRef.name, bindingNamespace);
      return (granted?.rules ?? []).some(
        (rule) =>
          has(rule.verbs, attributes.verb) &&
          has(rule.apiGroups, attributes.group) &&
          has(rule.resources, attributes.resource) &&
          (!rule.resourceNames?.length || rule.resourceNames.includes(attributes.name)),
      );
    });
}
