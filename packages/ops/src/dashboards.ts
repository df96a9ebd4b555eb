/*
 * The Grafana dashboards of infra/grafana/dashboards/, as data: `pnpm run dashboards` writes them, a
 * unit test keeps the files in step, and `metrics-check` evaluates every panel's expression against a
 * Prometheus scraping the running cluster (docs/decisions/0022). Every name here is one a service
 * exposes (packages/platform/src/plugins/metrics.ts, services/<name>/src/metrics.ts) or a recording
 * rule of infra/prometheus/rules/.
 */

export interface Panel {
  title: string;
  /** PromQL; `$__rate_interval` is Grafana's, the check puts a window in its place. */
  exprs: Array<{ expr: string; legend: string }>;
  unit?: string;
  kind?: 'timeseries' | 'stat';
  description?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  panels: Panel[];
}

const R = '[$__rate_interval]';
const registrations = 'service="intake",method="POST",route="/v1/registrations"';
const PARTNERS = 'bucket=~".*(nik:registry|email:mail-provider)"';

const red = (service: string): Panel[] => [
  {
    title: 'Requests by route and status',
    exprs: [{ expr: `sum by (route, status_code) (rate(http_request_duration_seconds_count{service="${service}"}${R}))`, legend: '{{route}} {{status_code}}' }],
    unit: 'reqps',
  },
  {
    title: 'Errors (5xx) by route',
    exprs: [
      {
        expr: `sum by (route) (rate(http_request_duration_seconds_count{service="${service}",status_code=~"5.."}${R})) or sum by (route) (rate(http_request_duration_seconds_count{service="${service}"}${R})) * 0`,
        legend: '{{route}}',
      },
    ],
    unit: 'reqps',
    description: 'Zero lines for routes without errors, so a route that starts failing is already on the graph.',
  },
  {
    title: 'p99 by route',
    exprs: [
      { expr: `histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{service="${service}"}${R})))`, legend: '{{route}}' },
    ],
    unit: 's',
  },
];

/** Admitted per second over the bucket's configured rate: how much of a partner's quota is used. */
const quotaUse = (title: string, service: string, bucket: string): Panel => {
  const sel = `service="${service}",bucket=~".*${bucket}"`;
  return {
    title,
    exprs: [
      { expr: `sum(rate(token_bucket_decisions_total{${sel},decision="admitted"}${R})) / max(token_bucket_rate_per_second{${sel}})`, legend: 'quota use' },
    ],
    unit: 'percentunit',
  };
};

const consuming = (service: string): Panel[] => [
  {
    title: 'Consumer lag by group and partition',
    exprs: [{ expr: `sum by (group, partition) (kafka_consumergroup_lag{service="${service}"})`, legend: '{{group}} p{{partition}}' }],
    unit: 'short',
  },
  {
    title: 'Batch handling p99 by topic',
    exprs: [
      { expr: `histogram_quantile(0.99, sum by (le, topic) (rate(consumer_handle_duration_seconds_bucket{service="${service}"}${R})))`, legend: '{{topic}}' },
    ],
    unit: 's',
  },
  {
    title: 'Dead letters by group and kind',
    exprs: [{ expr: `sum by (group, kind) (increase(consumer_dead_letters_total{service="${service}"}${R}))`, legend: '{{group}} {{kind}}' }],
    unit: 'short',
  },
];

const processPanels = (service: string): Panel[] => [
  {
    title: 'Outbox: rows waiting, oldest',
    exprs: [
      { expr: `sum(outbox_pending_rows{service="${service}"})`, legend: 'rows' },
      { expr: `max(outbox_oldest_pending_seconds{service="${service}"})`, legend: 'oldest (s)' },
    ],
  },
  {
    title: 'Event-loop lag p99 and resident memory',
    exprs: [
      { expr: `max by (instance) (nodejs_eventloop_lag_p99_seconds{service="${service}"})`, legend: 'loop p99 (s) {{instance}}' },
      { expr: `max by (instance) (process_resident_memory_bytes{service="${service}"}) / 1e9`, legend: 'RSS (GB) {{instance}}' },
    ],
  },
];

export const DASHBOARDS: Dashboard[] = [
  {
    uid: 'gelombang-surge',
    title: 'Gelombang — the surge',
    description: 'Opening day at a glance: arrivals, admission, the intake p99 against its SLO, lag per funnel stage, partner quota use, the funnel.',
    panels: [
      {
        title: 'Arrivals: POST /v1/registrations by status',
        exprs: [{ expr: `sum by (status_code) (rate(http_request_duration_seconds_count{${registrations}}${R}))`, legend: '{{status_code}}' }],
        unit: 'reqps',
      },
      {
        title: 'Admission: token-bucket decisions at the intake',
        exprs: [{ expr: `sum by (decision) (rate(token_bucket_decisions_total{service="intake"}${R}))`, legend: '{{decision}}' }],
        unit: 'ops',
      },
      {
        title: 'Intake p99 (SLO 50 ms)',
        exprs: [{ expr: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{${registrations}}${R})))`, legend: 'p99' }],
        unit: 's',
      },
      {
        title: 'Intake SLIs: slow (> 50 ms) and 5xx ratios, 5 min',
        exprs: [
          { expr: 'slo:intake_slow:ratio_rate5m', legend: 'slow (budget 1 %)' },
          { expr: 'slo:intake_errors:ratio_rate5m', legend: '5xx (budget 0.1 %)' },
        ],
        unit: 'percentunit',
      },
      {
        title: 'Lag per funnel stage (consumer group)',
        exprs: [{ expr: 'sum by (group) (kafka_consumergroup_lag)', legend: '{{group}}' }],
        unit: 'short',
      },
      {
        title: 'Partner quota use (registry, mail provider)',
        exprs: [
          {
            expr: `sum by (bucket) (rate(token_bucket_decisions_total{decision="admitted",${PARTNERS}}${R})) / max by (bucket) (token_bucket_rate_per_second{${PARTNERS}})`,
            legend: '{{bucket}}',
          },
        ],
        unit: 'percentunit',
      },
      {
        title: 'Funnel: stage reached, per second',
        exprs: [{ expr: `sum by (stage) (rate(funnel_stage_total${R}))`, legend: '{{stage}}' }],
        unit: 'ops',
      },
      {
        title: 'Funnel: stage reached, since the processes started',
        exprs: [{ expr: 'sum by (stage) (funnel_stage_total)', legend: '{{stage}}' }],
        kind: 'stat',
      },
    ],
  },
  {
    uid: 'gelombang-intake',
    title: 'Gelombang — intake',
    description: 'The intake API (3001) and its projector (3011).',
    panels: [
      ...red('intake'),
      {
        title: 'Registration phases p99 (claim, publish, total)',
        exprs: [{ expr: `histogram_quantile(0.99, sum by (le, phase) (rate(intake_registration_phase_seconds_bucket${R})))`, legend: '{{phase}}' }],
        unit: 's',
      },
      {
        title: 'Accepted registrations, and decisions without Redis',
        exprs: [
          { expr: `sum(rate(intake_registrations_accepted_total${R}))`, legend: 'accepted' },
          { expr: `sum(rate(token_bucket_local_decisions_total{service="intake"}${R}))`, legend: 'without Redis' },
        ],
        unit: 'ops',
      },
      {
        title: 'Projected into PostgreSQL by outcome',
        exprs: [{ expr: `sum by (outcome) (rate(intake_projected_total${R}))`, legend: '{{outcome}}' }],
        unit: 'ops',
      },
      ...consuming('intake'),
      ...processPanels('intake'),
    ],
  },
  {
    uid: 'gelombang-email',
    title: 'Gelombang — email verification',
    description: 'Codes by mail within the provider’s quota; confirm and resend (3002).',
    panels: [
      ...red('email'),
      {
        title: 'Mails sent and refused by the provider',
        exprs: [
          { expr: `sum(rate(email_mails_sent_total${R}))`, legend: 'sent' },
          { expr: `sum(rate(email_mail_send_failures_total${R}))`, legend: 'refused / failed' },
        ],
        unit: 'ops',
      },
      { title: 'Mails owed (backlog)', exprs: [{ expr: 'sum(email_mail_backlog)', legend: 'backlog' }], unit: 'short' },
      quotaUse('Mail-provider quota use', 'email', 'email:mail-provider'),
      {
        title: 'Confirmations by outcome',
        exprs: [{ expr: `sum by (outcome) (rate(email_confirms_total${R}))`, legend: '{{outcome}}' }],
        unit: 'ops',
      },
      ...consuming('email'),
      ...processPanels('email'),
    ],
  },
  {
    uid: 'gelombang-nik',
    title: 'Gelombang — NIK verification',
    description: 'Checks against the population registry within its quota, behind a circuit breaker (3003).',
    panels: [
      ...red('nik-verification'),
      {
        title: 'Registry calls by outcome',
        exprs: [{ expr: `sum by (outcome) (rate(nik_registry_calls_total${R}))`, legend: '{{outcome}}' }],
        unit: 'ops',
      },
      {
        title: 'Registry call p99',
        exprs: [{ expr: `histogram_quantile(0.99, sum by (le) (rate(nik_registry_call_duration_seconds_bucket${R})))`, legend: 'p99' }],
        unit: 's',
      },
      quotaUse('Registry quota use', 'nik-verification', 'nik:registry'),
      {
        title: 'Circuit breaker (0 closed, 1 half-open, 2 open) and checks queued',
        exprs: [
          { expr: 'max(nik_registry_breaker_state)', legend: 'breaker' },
          { expr: 'sum by (when) (nik_checks_queued)', legend: 'queued ({{when}})' },
        ],
      },
      {
        title: 'Checks decided by state',
        exprs: [{ expr: `sum by (state) (rate(nik_checks_decided_total${R}))`, legend: '{{state}}' }],
        unit: 'ops',
      },
      ...consuming('nik-verification'),
      ...processPanels('nik-verification'),
    ],
  },
  {
    uid: 'gelombang-enrollment',
    title: 'Gelombang — batch enrollment',
    description: 'Training batches (gelombang) with quotas; one active seat per person (3004).',
    panels: [
      ...red('enrollment'),
      {
        title: 'Enrollment answers by outcome',
        exprs: [{ expr: `sum by (outcome) (rate(enrollment_requests_total${R}))`, legend: '{{outcome}}' }],
        unit: 'ops',
      },
      { title: 'Seats left per open batch', exprs: [{ expr: 'sum by (batch_id) (enrollment_batch_seats_left)', legend: '{{batch_id}}' }], unit: 'short' },
      {
        title: 'Batch admission decisions',
        exprs: [{ expr: `sum by (decision) (rate(token_bucket_decisions_total{service="enrollment"}${R}))`, legend: '{{decision}}' }],
        unit: 'ops',
      },
      ...consuming('enrollment'),
      ...processPanels('enrollment'),
    ],
  },
  {
    uid: 'gelombang-kafka',
    title: 'Gelombang — Kafka pipeline',
    description:
      'Every topic and group: what is published, what is behind, what was dead-lettered (the view of the Strimzi/Kafka-exporter dashboards, from our services).',
    panels: [
      {
        title: 'Published by topic',
        exprs: [{ expr: `sum by (topic) (rate(kafka_messages_published_total${R}))`, legend: '{{topic}}' }],
        unit: 'ops',
      },
      {
        title: 'Produce requests by service (events per request = coalescing)',
        exprs: [{ expr: `sum by (service) (rate(kafka_produce_requests_total${R}))`, legend: '{{service}}' }],
        unit: 'ops',
      },
      {
        title: 'Lag by group, topic and partition',
        exprs: [{ expr: 'sum by (group, topic, partition) (kafka_consumergroup_lag)', legend: '{{group}} {{topic}} p{{partition}}' }],
        unit: 'short',
      },
      {
        title: 'Dead letters by group and kind (10 min)',
        exprs: [{ expr: 'sum by (group, kind) (increase(consumer_dead_letters_total[10m]))', legend: '{{group}} {{kind}}' }],
        unit: 'short',
      },
      { title: 'Outbox rows waiting by service', exprs: [{ expr: 'sum by (service) (outbox_pending_rows)', legend: '{{service}}' }], unit: 'short' },
    ],
  },
];

/** A dashboard as Grafana's JSON model (schema 39), on a `datasource` variable of type prometheus. */
export function grafanaJson(d: Dashboard): Record<string, unknown> {
  const ds = { type: 'prometheus', uid: '${datasource}' };
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ['gelombang'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '10s',
    time: { from: 'now-30m', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus', current: {} }] },
    annotations: { list: [] },
    panels: d.panels.map((p, i) => ({
      id: i + 1,
      type: p.kind ?? 'timeseries',
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      datasource: ds,
      gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
      fieldConfig: { defaults: { unit: p.unit ?? 'short' }, overrides: [] },
      options: p.kind === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'] } } : { legend: { displayMode: 'list', placement: 'bottom' } },
      targets: p.exprs.map((e, j) => ({ refId: String.fromCharCode(65 + j), datasource: ds, expr: e.expr, legendFormat: e.legend })),
    })),
  };
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric (or recorded series) names an expression reads. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  // Numbers (1e9, 0.99, 5m) are whole tokens here, so their letters are never taken for names.
  for (const m of bare.matchAll(/([a-zA-Z0-9_:.]+)(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1]!.toLowerCase()) || /^[\d.]/.test(m[1]!)) continue;
    names.add(m[1]!);
  }
  return [...names];
}

/** Every expression of every dashboard, with where it is. */
export const allExpressions = (): Array<{ dashboard: string; panel: string; expr: string }> =>
  DASHBOARDS.flatMap((d) => d.panels.flatMap((p) => p.exprs.map((e) => ({ dashboard: d.uid, panel: p.title, expr: e.expr }))));

export const dashboardFileText = (d: Dashboard): string => `${JSON.stringify(grafanaJson(d), null, 2)}\n`;
