{{/*
The pod template of the Deployment (watch-only, remediation, leader election) and of the
sharded StatefulSet (sharding.enabled): one pod spec to keep hardened, as deploy/ copies the
Deployment's into overlays/sharded.
*/}}
{{- define "crashwatch.podTemplate" -}}
{{- $ha := .Values.leaderElection.enabled }}
{{- $sharded := .Values.sharding.enabled }}
metadata:
  labels:
    {{- include "crashwatch.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: crashwatch
  automountServiceAccountToken: true  # it talks to the API server
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if .Values.affinity }}
  affinity:
    {{- toYaml .Values.affinity | nindent 4 }}
  {{- else if or $ha $sharded }}
  affinity:
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels:
                {{- include "crashwatch.selectorLabels" . | nindent 16 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    fsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: crashwatch
      image: {{ include "crashwatch.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: [run]
      env:
        - name: CRASHWATCH_LOG_FORMAT
          value: json
        - name: CRASHWATCH_METRICS_PORT
          value: {{ .Values.metrics.port | quote }}
        - name: CRASHWATCH_HEALTH_PORT
          value: {{ .Values.health.port | quote }}
        # Without the remediation role workloads cannot be patched: owners get Events.
        - name: CRASHWATCH_OWNER_ANNOTATIONS
          value: {{ include "crashwatch.ownerAnnotations" . | quote }}
        {{- if .Values.remediation.enabled }}
        - name: CRASHWATCH_REMEDIATION
          value: "true"
        {{- end }}
        {{- if $ha }}
        - name: CRASHWATCH_LEADER_ELECTION
          value: "true"
        {{- end }}
        {{- if $sharded }}
        - name: CRASHWATCH_SHARDS
          value: {{ .Values.sharding.shards | quote }}
        # The shard index: the pod's ordinal (Kubernetes 1.28+ labels StatefulSet pods with
        # it); crashwatch falls back to POD_NAME's suffix without it.
        - name: POD_INDEX
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
        {{- end }}
        {{- if or $ha $sharded }}
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- end }}
        {{- with .Values.watch.namespaces }}
        - name: CRASHWATCH_NAMESPACES
          value: {{ join "," . | quote }}
        {{- end }}
        {{- with .Values.watch.namespaceSelector }}
        - name: CRASHWATCH_NAMESPACE_SELECTOR
          value: {{ . | quote }}
        {{- end }}
        {{- if .Values.dryRun }}
        - name: CRASHWATCH_DRY_RUN
          value: "true"
        {{- end }}
        {{- with .Values.logLevel }}
        - name: CRASHWATCH_LOG_LEVEL
          value: {{ . | quote }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: metrics
          containerPort: {{ .Values.metrics.port }}
          protocol: TCP
        - name: health
          containerPort: {{ .Values.health.port }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: health
        initialDelaySeconds: 10
        periodSeconds: 20
        timeoutSeconds: 5
        failureThreshold: 3
      # Ready: leading (or alone), the pods and their owners listed, the API server answering.
      readinessProbe:
        httpGet:
          path: /readyz
          port: health
        periodSeconds: 10
        timeoutSeconds: 5
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        capabilities:
          drop: [ALL]
        seccompProfile:
          type: RuntimeDefault
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
{{- end -}}
