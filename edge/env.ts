// The Worker's bindings. `Env` itself is generated from wrangler.toml by `npm run types`
// (`wrangler types`, into worker-configuration.d.ts at the root, committed). Secrets are not in
// wrangler.toml, so they are declared here, merged into the generated interface.
declare global {
  interface Env {
    /** HMAC key for session and API-token JWTs. A secret. */
    JWT_SECRET: string;
    /** "1" (the bench only): D1 round-trip counts and hub work counters are exposed. */
    BENCH_METERS?: string;
    /** Web Push VAPID keys (base64url: the 65-byte public key, the private scalar `d`). Secrets. */
    VAPID_PUBLIC_KEY?: string;
    VAPID_PRIVATE_KEY?: string;
    /** VAPID `sub`: a `mailto:` or `https:` contact for the push services. */
    VAPID_SUBJECT?: string;
    /** "1" (`npm start` and tests only): also accept https push endpoints on loopback. */
    PUSH_ALLOW_LOOPBACK?: string;
    /** OpenTelemetry (docs/observability.md): unset endpoint = tracing off. */
    OTEL_EXPORTER_OTLP_ENDPOINT?: string;
    /** `k=v,k2=v2` headers for the OTLP endpoint (an API key): a secret. */
    OTEL_EXPORTER_OTLP_HEADERS?: string;
    OTEL_SERVICE_NAME?: string;
    OTEL_TRACES_SAMPLER?: string;
    OTEL_TRACES_SAMPLER_ARG?: string;
  }
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Cloudflare {
    interface Env {
      JWT_SECRET: string;
      BENCH_METERS?: string;
      VAPID_PUBLIC_KEY?: string;
      VAPID_PRIVATE_KEY?: string;
      VAPID_SUBJECT?: string;
      PUSH_ALLOW_LOOPBACK?: string;
      /** OpenTelemetry (docs/observability.md): unset endpoint = tracing off. */
      OTEL_EXPORTER_OTLP_ENDPOINT?: string;
      /** `k=v,k2=v2` headers for the OTLP endpoint (an API key): a secret. */
      OTEL_EXPORTER_OTLP_HEADERS?: string;
      OTEL_SERVICE_NAME?: string;
      OTEL_TRACES_SAMPLER?: string;
      OTEL_TRACES_SAMPLER_ARG?: string;
    }
  }
}

/** The generated global `Env`, by name, for modules that prefer an explicit import. */
export type WorkerEnv = Env;
