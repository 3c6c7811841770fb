{{- define "meterline.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "meterline.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: include with (list $ "ingest"). */}}
{{- define "meterline.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "meterline.image" -}}
{{ printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end -}}

{{/* The stream workers' ceiling: one partition each at least. */}}
{{- define "meterline.streamMaxReplicas" -}}
{{- $max := .Values.stream.autoscaling.maxReplicas | default .Values.kafka.eventsPartitions -}}
{{- if gt (int .Values.stream.replicas) (int .Values.kafka.eventsPartitions) -}}
{{- fail (printf "stream.replicas (%d) exceeds kafka.eventsPartitions (%d): workers beyond the partition count get no partition" (int .Values.stream.replicas) (int .Values.kafka.eventsPartitions)) -}}
{{- end -}}
{{- if gt (int $max) (int .Values.kafka.eventsPartitions) -}}
{{- fail (printf "stream.autoscaling.maxReplicas (%d) exceeds kafka.eventsPartitions (%d)" (int $max) (int .Values.kafka.eventsPartitions)) -}}
{{- end -}}
{{- $max -}}
{{- end -}}

{{/* Every process gets the same settings: the external services and the Secret's keys. */}}
{{- define "meterline.env" -}}
- name: METERLINE_ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: METERLINE_RUN_DIR
  value: /var/lib/meterline
- name: METERLINE_KAFKA__BOOTSTRAP_SERVERS
  value: {{ required "kafka.bootstrapServers is required" .Values.kafka.bootstrapServers | quote }}
- name: METERLINE_KAFKA__EVENTS_TOPIC
  value: {{ .Values.kafka.eventsTopic | quote }}
- name: METERLINE_KAFKA__EVENTS_PARTITIONS
  value: {{ .Values.kafka.eventsPartitions | quote }}
- name: METERLINE_KAFKA__DEAD_LETTER_TOPIC
  value: {{ .Values.kafka.deadLetterTopic | quote }}
- name: METERLINE_KAFKA__REPLICATION_FACTOR
  value: {{ .Values.kafka.replicationFactor | quote }}
- name: METERLINE_CLICKHOUSE__DATABASE
  value: {{ .Values.clickhouse.database | quote }}
- name: METERLINE_PREFECT__API_URL
  value: {{ required "prefect.apiUrl is required" .Values.prefect.apiUrl | quote }}
- name: PREFECT_API_URL
  value: {{ .Values.prefect.apiUrl | quote }}
- name: PREFECT_HOME
  value: /var/lib/meterline/prefect
- name: METERLINE_STRIPE__API_BASE
  value: {{ required "stripe.apiBase is required" .Values.stripe.apiBase | quote }}
- name: METERLINE_INGEST__PORT
  value: {{ .Values.ingest.port | quote }}
- name: METERLINE_API__PORT
  value: {{ .Values.api.port | quote }}
- name: METERLINE_STREAM__WEB_PORT
  value: {{ .Values.stream.webPort | quote }}
- name: METERLINE_STREAM__CONSUMER_GROUP
  value: {{ .Values.stream.consumerGroup | quote }}
{{- range $name, $ref := .Values.secrets.keys }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secrets.name }}
      key: {{ $ref.key }}
      {{- if $ref.optional }}
      optional: true
      {{- end }}
{{- end }}
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The run directory (ingest's multiprocess metrics, Prefect's home) is scratch space. */}}
{{- define "meterline.scratchVolume" -}}
- name: scratch
  emptyDir: {}
{{- end -}}
{{- define "meterline.scratchMount" -}}
- name: scratch
  mountPath: /var/lib/meterline
{{- end -}}

{{- define "meterline.metricsAnnotations" -}}
{{- $root := index . 0 -}}
{{- if $root.Values.metrics.annotations }}
prometheus.io/scrape: "true"
prometheus.io/path: /metrics
prometheus.io/port: {{ index . 1 | quote }}
{{- end }}
{{- end -}}
