{{/* Chart name. */}}
{{- define "cloudshell-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: fullnameOverride, else the release name if it contains the chart name, else <release>-<chart>. */}}
{{- define "cloudshell-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the operator Pods. */}}
{{- define "cloudshell-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloudshell-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* Labels of every object: standard ones plus .Values.labels. */}}
{{- define "cloudshell-operator.labels" -}}
app.kubernetes.io/name: {{ include "cloudshell-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- with .Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The operator's ServiceAccount. */}}
{{- define "cloudshell-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cloudshell-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference from {registry, repository, tag, digest}; global.imageRegistry wins. Call with (list $ image defaultTag). */}}
{{- define "cloudshell-operator.imageRef" -}}
{{- $root := index . 0 -}}
{{- $image := index . 1 -}}
{{- $defaultTag := index . 2 -}}
{{- $registry := $root.Values.global.imageRegistry | default $image.registry -}}
{{- $repository := required "an image repository is required" $image.repository -}}
{{- $ref := ternary (printf "%s/%s" $registry $repository) $repository (ne (toString $registry) "") -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $ref $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (toString ($image.tag | default $defaultTag)) -}}
{{- end -}}
{{- end -}}

{{/* The operator image. */}}
{{- define "cloudshell-operator.image" -}}
{{- include "cloudshell-operator.imageRef" (list . .Values.image .Chart.AppVersion) -}}
{{- end -}}

{{/* The terminal image: CloudTTY v0.5's jobTemplate.image when set, else cloudshell.image. */}}
{{- define "cloudshell-operator.cloudshellImage" -}}
{{- $legacy := (.Values.jobTemplate).image | default dict -}}
{{- if $legacy.repository -}}
{{- include "cloudshell-operator.imageRef" (list . $legacy "latest") -}}
{{- else -}}
{{- include "cloudshell-operator.imageRef" (list . .Values.cloudshell.image "latest") -}}
{{- end -}}
{{- end -}}

{{/* Feature gates as Name=value pairs joined by commas: CloudTTY v0.5's image.featureGates, then featureGates (later wins). */}}
{{- define "cloudshell-operator.featureGates" -}}
{{- $pairs := list -}}
{{- range $source := list (.Values.image.featureGates | default dict) (.Values.featureGates | default dict) -}}
{{- if kindIs "map" $source -}}
{{- range $name, $value := $source -}}
{{- $pairs = append $pairs (printf "%s=%v" $name $value) -}}
{{- end -}}
{{- else if $source -}}
{{- $pairs = append $pairs (toString $source) -}}
{{- end -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* imagePullSecrets from global.imagePullSecrets and image.pullSecrets (names or {name: ...}). */}}
{{- define "cloudshell-operator.imagePullSecrets" -}}
{{- $secrets := concat (.Values.global.imagePullSecrets | default list) (.Values.image.pullSecrets | default list) -}}
{{- if $secrets -}}
imagePullSecrets:
{{- range $secrets }}
  - name: {{ if kindIs "map" . }}{{ .name | quote }}{{ else }}{{ . | quote }}{{ end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The operator's rules on namespaced resources: in a ClusterRole, or a Role in watchNamespace. */}}
{{- define "cloudshell-operator.namespacedRules" -}}
- apiGroups: ["cloudshell.cloudtty.io"]
  resources: ["cloudshells"]
  verbs: ["list", "watch", "patch", "delete"]
- apiGroups: ["cloudshell.cloudtty.io"]
  resources: ["cloudshells/status"]
  verbs: ["patch"]
- apiGroups: ["cloudshell.cloudtty.io"]
  resources: ["cloudshells/finalizers"]
  verbs: ["update"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["list", "watch", "get", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch", "patch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["list", "watch", "get", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["create"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["list", "watch", "create", "get"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get", "create"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["rolebindings"]
  verbs: ["get", "create"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["clusterroles"]
  verbs: ["bind"]
  resourceNames: [{{ .Values.kubeconfigClusterRole | quote }}]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "create", "update", "delete"]
- apiGroups: ["networking.istio.io"]
  resources: ["virtualservices"]
  verbs: ["get", "list", "create", "update", "delete"]
{{- end -}}

{{/* Pull secrets of the terminal pods: global.imagePullSecrets and cloudshell.imagePullSecrets, as names. */}}
{{- define "cloudshell-operator.terminalPullSecrets" -}}
{{- $names := list -}}
{{- range concat (.Values.global.imagePullSecrets | default list) ((.Values.cloudshell).imagePullSecrets | default list) -}}
{{- if kindIs "map" . -}}
{{- $names = append $names .name -}}
{{- else -}}
{{- $names = append $names . -}}
{{- end -}}
{{- end -}}
{{- join "," (uniq $names) -}}
{{- end -}}

{{/* Values the chart refuses: CloudTTY's worker pool sizes other than its defaults. */}}
{{- define "cloudshell-operator.validate" -}}
{{- range $key, $default := dict "coreWorkerLimit" 5 "maxWorkerLimit" 10 -}}
{{- $value := index $.Values $key -}}
{{- if and (not (kindIs "invalid" $value)) (ne (toString $value) (toString $default)) -}}
{{- fail (printf "%s=%v: this operator has no worker pool (each CloudShell gets its own Job, started on demand); remove %s, or set `workers` for how many CloudShells are reconciled at once" $key $value $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
