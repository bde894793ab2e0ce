{{- define "feat.sel" -}}app={{ .Chart.Name }}{{- end }}
{{- define "feat.nested" -}}
outer: {{ include "feat.sel" . }}
{{- end }}
