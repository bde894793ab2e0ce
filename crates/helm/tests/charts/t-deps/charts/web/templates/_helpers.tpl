{{- define "shared.name" -}}web-{{ .Chart.Name }}{{- end }}
{{- define "web.only" -}}web-only{{- end }}
