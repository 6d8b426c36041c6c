{{/* Names and labels. */}}
{{- define "weft.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "weft.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component (api, worker, migrate, postgresql). */}}
{{- define "weft.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "weft.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The Secret and key holding WEFT_SECRET_KEY. */}}
{{- define "weft.secretKeyRef" -}}
{{- if .Values.secretKey.existingSecret -}}
name: {{ .Values.secretKey.existingSecret }}
key: {{ .Values.secretKey.existingSecretKey }}
{{- else -}}
name: {{ include "weft.fullname" . }}
key: secret-key
{{- end -}}
{{- end -}}

{{/* The Secret and key holding WEFT_DATABASE_URL. */}}
{{- define "weft.databaseUrlRef" -}}
{{- if .Values.postgresql.bundled -}}
name: {{ include "weft.fullname" . }}
key: database-url
{{- else if .Values.postgresql.external.existingSecret -}}
name: {{ .Values.postgresql.external.existingSecret }}
key: {{ .Values.postgresql.external.existingSecretKey }}
{{- else -}}
name: {{ include "weft.fullname" . }}-database
key: database-url
{{- end -}}
{{- end -}}

{{/* A value kept from the live Secret on upgrades, else the given one, else a random one. */}}
{{- define "weft.keptSecretValue" -}}
{{- $live := lookup "v1" "Secret" .root.Release.Namespace (include "weft.fullname" .root) -}}
{{- if .given -}}
{{- .given -}}
{{- else if and $live (hasKey $live.data .key) -}}
{{- index $live.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum 48 -}}
{{- end -}}
{{- end -}}

{{/* The environment of every Weft container. */}}
{{- define "weft.env" -}}
- name: WEFT_DATABASE_URL
  valueFrom:
    secretKeyRef:
      {{- include "weft.databaseUrlRef" . | nindent 6 }}
- name: WEFT_SECRET_KEY
  valueFrom:
    secretKeyRef:
      {{- include "weft.secretKeyRef" . | nindent 6 }}
- name: WEFT_LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
{{- with .Values.config.publicUrl }}
- name: WEFT_PUBLIC_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.config.trustedProxies }}
- name: WEFT_TRUSTED_PROXIES
  value: {{ . | quote }}
{{- end }}
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Writable folders under a read-only root: the data dir (no SQLite here) and /tmp. */}}
{{- define "weft.volumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "weft.volumeMounts" -}}
- name: data
  mountPath: /var/lib/weft
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "weft.podSecurity" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}
