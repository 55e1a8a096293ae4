{{/*
Labels of every object: the two deploy/ puts on everything it ships, then Helm's own four
(tests/deploy/test_helm.py sets exactly these four aside when it compares with kustomize).
*/}}
{{- define "crashwatch.labels" -}}
app.kubernetes.io/name: crashwatch
app.kubernetes.io/part-of: crashwatch
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The pods' labels and the selector of the Deployment, Service, PDB and NetworkPolicy. */}}
{{- define "crashwatch.selectorLabels" -}}
app.kubernetes.io/name: crashwatch
{{- end -}}

{{- define "crashwatch.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* ownerAnnotations: null follows remediation.enabled. */}}
{{- define "crashwatch.ownerAnnotations" -}}
{{- if kindIs "invalid" .Values.ownerAnnotations -}}
{{ .Values.remediation.enabled }}
{{- else -}}
{{ .Values.ownerAnnotations }}
{{- end -}}
{{- end -}}

{{/* The ServiceAccount every binding names. */}}
{{- define "crashwatch.subject" -}}
- kind: ServiceAccount
  name: crashwatch
  namespace: {{ .Release.Namespace }}
{{- end -}}
