{{/* The release's object names: the release name, with the chart name appended unless it already holds it. */}}
{{- define "kar.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the release's pods. */}}
{{- define "kar.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "kar.labels" -}}
{{ include "kar.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: webhook-receiver
app.kubernetes.io/part-of: kargo
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The ServiceAccount every role is bound to: the release's, in the release's namespace. */}}
{{- define "kar.subject" -}}
- kind: ServiceAccount
  name: {{ include "kar.fullname" . }}
  namespace: {{ .Release.Namespace }}
{{- end -}}

{{/* baseURL, else https://<ingress.host> when the Ingress is on, else empty. */}}
{{- define "kar.baseURL" -}}
{{- if .Values.baseURL -}}
{{- .Values.baseURL -}}
{{- else if .Values.ingress.enabled -}}
{{- printf "https://%s" .Values.ingress.host -}}
{{- end -}}
{{- end -}}

{{/* The path the receivers are served under: <path of the base URL>/azure/. */}}
{{- define "kar.receiverPath" -}}
{{- $path := "" -}}
{{- with include "kar.baseURL" . -}}{{- $path = (urlParse .).path -}}{{- end -}}
{{- printf "%s/azure/" (trimSuffix "/" $path) -}}
{{- end -}}

{{/* Namespaces granted and watched with rbac.scope=namespaced; fails when none are listed. */}}
{{- define "kar.namespaces" -}}
{{- if eq .Values.rbac.scope "namespaced" -}}
{{- if not .Values.rbac.namespaces -}}
{{- fail "rbac.namespaces: list the Kargo project namespaces to serve when rbac.scope is namespaced" -}}
{{- end -}}
{{- join "," .Values.rbac.namespaces -}}
{{- end -}}
{{- end -}}

{{/* A V8 heap cap at 3/4 of a memory limit in Mi or Gi; empty for any other form. */}}
{{- define "kar.heapMi" -}}
{{- $limit := toString (dig "limits" "memory" "" .Values.resources) -}}
{{- if regexMatch "^[0-9]+Mi$" $limit -}}
{{- div (mul (trimSuffix "Mi" $limit | atoi) 3) 4 -}}
{{- else if regexMatch "^[0-9]+Gi$" $limit -}}
{{- div (mul (trimSuffix "Gi" $limit | atoi) 3072) 4 -}}
{{- end -}}
{{- end -}}

{{/*
The rules of a Kargo project namespace, exactly what the server uses:
- warehouses, promotions: list + watch (the cache), patch (the refresh annotation);
- stages: the custom verb promote, which Kargo's Promotion admission webhook
  checks on every PATCH of a Promotion (grants no read or write of Stages);
- projectconfigs: list + watch (the receivers of spec.webhookReceivers);
- secrets: list + watch, the Secrets the receivers reference (no get);
- projectconfigs/status: get + patch (the status is read, then patched), only
  with kargo.writeStatus.
*/}}
{{- define "kar.projectRules" -}}
- apiGroups: ['kargo.akuity.io']
  resources: ['warehouses', 'promotions']
  verbs: ['list', 'watch', 'patch']
- apiGroups: ['kargo.akuity.io']
  resources: ['stages']
  verbs: ['promote']
- apiGroups: ['kargo.akuity.io']
  resources: ['projectconfigs']
  verbs: ['list', 'watch']
{{ include "kar.secretsRule" . }}
{{- if .Values.kargo.writeStatus }}
- apiGroups: ['kargo.akuity.io']
  resources: ['projectconfigs/status']
  verbs: ['get', 'patch']
{{- end }}
{{- end -}}

{{/* Secrets of receivers: listed and watched, never read with get. */}}
{{- define "kar.secretsRule" -}}
- apiGroups: ['']
  resources: ['secrets']
  verbs: ['list', 'watch']
{{- end -}}

{{/* The ClusterConfig (cluster-scoped) named "cluster": the watch names it, so resourceNames restricts list and watch. */}}
{{- define "kar.clusterConfigRule" -}}
- apiGroups: ['kargo.akuity.io']
  resources: ['clusterconfigs']
  resourceNames: ['cluster']
  verbs: ['get', 'list', 'watch']
{{- end -}}
