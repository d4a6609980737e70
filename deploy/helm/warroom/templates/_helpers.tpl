{{/*
The chart's name, and the full name of its objects (truncated to 63
characters, the limit of a DNS label).
*/}}
{{- define "warroom.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "warroom.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "warroom.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "warroom.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "warroom.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "warroom.selectorLabels" -}}
app.kubernetes.io/name: {{ include "warroom.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "warroom.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "warroom.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "warroom.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "warroom.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-secrets" (include "warroom.fullname" .)) }}
{{- end }}

{{/*
The values that cannot make a working warroom, refused with what to set.
*/}}
{{- define "warroom.validate" -}}
{{- $driver := .Values.storage.driver }}
{{- if not (has $driver (list "sqlite" "postgres")) }}
{{- fail (printf "storage.driver: %q is not sqlite or postgres" $driver) }}
{{- end }}
{{- if and (eq $driver "postgres") (not .Values.storage.postgres.dsn) }}
{{- fail "storage.postgres.dsn is required with storage.driver=postgres (postgres://user@host:5432/db; the password goes in storage.postgres.passwordSecret)" }}
{{- end }}
{{- if and (eq $driver "postgres") (regexMatch "^postgres(ql)?://[^/@]*:[^/@]*@" .Values.storage.postgres.dsn) }}
{{- fail "storage.postgres.dsn holds a password, and would be stored in a ConfigMap: take it out and name the Secret that holds it in storage.postgres.passwordSecret" }}
{{- end }}
{{- if and (not .Values.existingSecret) (not .Values.secrets) }}
{{- fail "set secrets (file name: value, at least webhook-token) or existingSecret: without webhook credentials warroom listens on loopback only and no Service can reach it" }}
{{- end }}
{{- if and .Values.ingress.enabled (not (int .Values.publicListen)) }}
{{- fail "ingress.enabled needs publicListen (a port, e.g. 9096): the Ingress exposes only the public listener, which serves Slack's endpoints and nothing else" }}
{{- end }}
{{- if eq (int .Values.publicListen) (int .Values.service.port) }}
{{- fail "publicListen must differ from service.port" }}
{{- end }}
{{- end }}

{{/*
warroom.yaml: the values' config with the keys the chart decides.
*/}}
{{- define "warroom.config" -}}
{{- $managed := dict "listen" (printf ":%d" (int .Values.service.port)) "dry_run_log" "/data/warroom-dryrun.jsonl" }}
{{- if int .Values.publicListen }}
{{- $_ := set $managed "public_listen" (printf ":%d" (int .Values.publicListen)) }}
{{- end }}
{{- if eq .Values.storage.driver "postgres" }}
{{- $_ := set $managed "storage" (dict "driver" "postgres" "dsn" .Values.storage.postgres.dsn) }}
{{- else }}
{{- $_ := set $managed "storage" (dict "driver" "sqlite" "dsn" "/data/warroom.db") }}
{{- end }}
{{- mustMergeOverwrite (deepCopy (.Values.config | default dict)) $managed | toYaml }}
{{- end }}

{{/*
The pod template of both modes: the StatefulSet's and the Deployment's.
*/}}
{{- define "warroom.podTemplate" -}}
metadata:
  labels:
    {{- include "warroom.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # A change of the configuration or of the chart's Secret rolls the pods.
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- if not .Values.existingSecret }}
    checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "warroom.serviceAccountName" . }}
  # warroom never calls the Kubernetes API.
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
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
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if and (eq .Values.storage.driver "postgres") .Values.storage.postgres.migrateInitContainer }}
  initContainers:
    - name: migrate
      image: {{ include "warroom.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: [migrate, --config, /etc/warroom/config/warroom.yaml]
      env:
        {{- include "warroom.env" . | trim | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        {{- include "warroom.volumeMounts" . | nindent 8 }}
  {{- end }}
  containers:
    - name: warroom
      image: {{ include "warroom.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: [serve, --config, /etc/warroom/config/warroom.yaml]
      ports:
        - name: http
          containerPort: {{ .Values.service.port }}
          protocol: TCP
        {{- if int .Values.publicListen }}
        - name: public
          containerPort: {{ .Values.publicListen }}
          protocol: TCP
        {{- end }}
      env:
        {{- include "warroom.env" . | trim | nindent 8 }}
        {{- with .Values.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.startupProbe }}
      startupProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      livenessProbe:
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        {{- include "warroom.volumeMounts" . | nindent 8 }}
  volumes:
    - name: config
      configMap:
        name: {{ include "warroom.fullname" . }}
    - name: secrets
      secret:
        secretName: {{ include "warroom.secretName" . }}
        defaultMode: 0440
    - name: tmp
      emptyDir: {}
    {{- if eq .Values.storage.driver "postgres" }}
    # The dry-run log, when Slack or Jira is not configured.
    - name: data
      emptyDir: {}
    {{- end }}
{{- end }}

{{- define "warroom.volumeMounts" -}}
# A directory, not a subPath: an edited ConfigMap reaches the file, for a
# reload without a restart when the checksum annotation is turned off.
- name: config
  mountPath: /etc/warroom/config
  readOnly: true
- name: secrets
  mountPath: /etc/warroom/secrets
  readOnly: true
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- end }}

{{/*
The environment both containers share: GOMEMLIMIT from the memory limit,
PostgreSQL's password.
*/}}
{{- define "warroom.env" -}}
{{- if .Values.goMemLimit }}
- name: GOMEMLIMIT
  value: {{ .Values.goMemLimit | quote }}
{{- else if (.Values.resources.limits).memory }}
- name: WARROOM_MEMORY_LIMIT_MIB
  valueFrom:
    resourceFieldRef:
      containerName: warroom
      resource: limits.memory
      divisor: 1Mi
# The limit in MiB read as millions of bytes: 95% of it.
- name: GOMEMLIMIT
  value: "$(WARROOM_MEMORY_LIMIT_MIB)000000"
{{- end }}
{{- with .Values.storage.postgres.passwordSecret }}
{{- if and (eq $.Values.storage.driver "postgres") .name }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- end }}
