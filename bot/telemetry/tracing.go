package telemetry

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is warroom's OpenTelemetry tracer provider, or nothing: tracing
// is on only when an OTLP endpoint is configured (docs/DECISIONS.md, D14).
type Tracing struct {
	provider *sdktrace.TracerProvider // nil: off
}

// The OpenTelemetry variables that turn tracing on, and the one that
// turns it off whatever else is set.
const (
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envSDKDisabled    = "OTEL_SDK_DISABLED"
	envTracesExporter = "OTEL_TRACES_EXPORTER"
)

// NewTracing sets tracing up from the standard OTEL_* variables, read
// with getenv: on when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the URL spans
// are posted to) or OTEL_EXPORTER_OTLP_ENDPOINT (the base URL,
// /v1/traces appended) is set, unless OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none; off otherwise. Spans go out over OTLP/HTTP
// in protobuf, batched; the exporter and the SDK read the other
// variables themselves (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT,
// _COMPRESSION, OTEL_TRACES_SAMPLER, OTEL_BSP_*, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES). The service name defaults to "warroom".
func NewTracing(ctx context.Context, getenv func(string) string, version string) (*Tracing, error) {
	url := getenv(envTracesEndpoint)
	if url == "" {
		if base := getenv(envEndpoint); base != "" {
			url = strings.TrimSuffix(base, "/") + "/v1/traces"
		}
	}
	if url == "" || strings.EqualFold(getenv(envSDKDisabled), "true") || getenv(envTracesExporter) == "none" {
		return &Tracing{}, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(url))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", url, err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(semconv.ServiceName("warroom"), semconv.ServiceVersion(version)),
		resource.Environment())
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	return &Tracing{provider: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))}, nil
}

// Tracer returns warroom's tracer, nil when tracing is off: the code that
// traces tests for nil and then does nothing at all.
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil || t.provider == nil {
		return nil
	}
	return t.provider.Tracer("github.com/warroom/warroom")
}

// Shutdown sends the spans still batched and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.provider == nil {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}
