import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionIssuer, sessionSignEnv, tailTopics, type SessionSignConfig, type Tail } from '@gelombang/platform';
import { newKafka } from './kafka';

/** Where the funnel's services answer: the local cluster's ports unless told otherwise. */
export interface ClusterTargets {
  intake: string;
  email: string;
  nik: string;
  enrollment: string;
  /** MailDev's web/API origin (the mail provider's stand-in). */
  maildev: string;
  /** The population-registry stand-in (services/registry-sim). */
  registry: string;
  adminToken: string | undefined;
}

export const DEFAULT_TARGETS = {
  intake: 'http://127.0.0.1:3001',
  email: 'http://127.0.0.1:3002',
  nik: 'http://127.0.0.1:3003',
  enrollment: 'http://127.0.0.1:3004',
  maildev: 'http://127.0.0.1:1080',
  registry: 'http://127.0.0.1:3090',
};

/**
 * A JSON answer or event of the services under load: each scenario reads the fields it knows, and its
 * thresholds and the audit check them; typing every service's body here would repeat the contracts.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface HttpAnswer {
  status: number;
  body: Json;
  retryAfterSec: number | undefined;
}

/** One JSON request; never throws on an HTTP status (only on a network error or timeout). */
export async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<HttpAnswer> {
  const res = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // keep the text
  }
  const ra = res.headers.get('retry-after');
  return { status: res.status, body: parsed, retryAfterSec: ra === null ? undefined : Number(ra) };
}

/**
 * As a well-behaved client: a 429 or 503 is retried after its Retry-After (capped, with jitter), up to
 * `attempts` times; any other answer is returned. `onRetry` counts the refusals that were retried.
 */
export async function callPolitely(
  method: string,
  url: string,
  body: unknown,
  opts: { headers?: Record<string, string>; attempts?: number; maxWaitSec?: number; onRetry?: (status: number) => void } = {},
): Promise<HttpAnswer> {
  const attempts = opts.attempts ?? 20;
  for (let i = 1; ; i++) {
    const a = await call(method, url, body, opts.headers);
    if ((a.status !== 429 && a.status !== 503) || i >= attempts) return a;
    opts.onRetry?.(a.status);
    const wait = Math.min(a.retryAfterSec ?? 1, opts.maxWaitSec ?? 5);
    await sleep(wait * 1000 * (0.5 + Math.random()));
  }
}

/**
 * Signs applicant sessions as the email service does when someone confirms a code, with the private
 * half of the cluster's session key pair: SESSION_SIGNING_KEY (and the other SESSION_* signing settings)
 * from the environment; `./gelombang loadtest` reads the local cluster's from .run/dev-keys.env.
 * Undefined when the key is not given. For people who never went through the email step (enroll-rush).
 */
export function sessionIssuerFromEnv(env: NodeJS.ProcessEnv = process.env): SessionIssuer | undefined {
  if (!env.SESSION_SIGNING_KEY) return undefined;
  try {
    // The service schemas' own fields, parsed one by one (this package has no zod of its own to wrap them).
    const config = Object.fromEntries(Object.entries(sessionSignEnv).map(([key, field]) => [key, field.parse(env[key])])) as SessionSignConfig;
    return new SessionIssuer(config);
  } catch {
    // Never the value: it is a private key.
    throw new Error(
      'SESSION_SIGNING_KEY (or SESSION_TTL_SEC, SESSION_MAX_AGE_SEC) is not what the email service takes: base64 of an Ed25519 private key in PKCS#8 DER',
    );
  }
}

/** The header an applicant's requests carry their session in. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Reads verification codes from MailDev: one poller for everybody, a waiter per address. */
export class Mailbox {
  private readonly waiting = new Map<string, (code: string) => void>();
  private readonly arrived = new Map<string, string>();
  private readonly seen = new Set<string>();
  private running = true;
  private loop: Promise<void>;
  /** Receive times (ms since epoch) of the mails seen: the provider's view of our sending rate. */
  readonly receivedAt: number[] = [];

  constructor(
    private readonly origin: string,
    /** Only mails whose subject, sender or recipients contain this (the run id). */
    private readonly search?: string,
    private readonly pollMs = 500,
  ) {
    this.loop = this.poll();
  }

  /** Resolves with the newest code mailed to `address` (lower-case), or rejects after `timeoutMs`. */
  code(address: string, timeoutMs: number): Promise<string> {
    const known = this.arrived.get(address);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(address);
        reject(new Error('no mail'));
      }, timeoutMs);
      this.waiting.set(address, (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  /** Resolves with a code mailed to `address` other than `previous` (a sign-in code after the verification code). */
  async codeOtherThan(address: string, previous: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const known = this.arrived.get(address);
      if (known && known !== previous) return known;
      if (Date.now() > deadline) throw new Error('no mail');
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  /**
   * MailDev's summaries (subject, recipients, time: no bodies), newest first, filtered by `search`
   * (the run id is in every address), paged only until a page holds a mail already seen: each poll
   * costs what arrived since the last one, not the whole inbox. The code is only in a mail's body
   * (never its subject), so each new mail is then fetched once, whole.
   */
  private async poll(): Promise<void> {
    while (this.running) {
      try {
        for (let skip = 0; ; skip += 200) {
          const q = new URLSearchParams({ sort: 'desc', limit: '200', skip: String(skip), ...(this.search ? { search: this.search } : {}) });
          const res = await fetch(`${this.origin}/api/email/summary?${q}`, { signal: AbortSignal.timeout(10_000) });
          const page = (await res.json()) as { items: Array<{ id: string; time: string; to: Array<{ address: string }> }> };
          const fresh = page.items.filter((m) => !this.seen.has(m.id));
          const sawKnown = fresh.length < page.items.length;
          const codes = await Promise.all(fresh.map((m) => this.codeIn(m.id)));
          for (const [i, m] of fresh.entries()) {
            const code = codes[i];
            // A mail that could not be read now is read on the next poll.
            if (code === null) continue;
            this.seen.add(m.id);
            if (!code) continue;
            for (const { address } of m.to) {
              const a = address.toLowerCase();
              this.arrived.set(a, code);
              this.receivedAt.push(new Date(m.time).getTime());
              const w = this.waiting.get(a);
              if (w) {
                this.waiting.delete(a);
                w(code);
              }
            }
          }
          if (sawKnown || page.items.length < 200) break;
        }
      } catch {
        // MailDev busy or restarting: the next round tries again.
      }
      await sleep(this.pollMs);
    }
  }

  /** The code in one mail's body (its first six-digit number); undefined for a mail without one, null when MailDev did not answer. */
  private async codeIn(id: string): Promise<string | undefined | null> {
    try {
      const res = await fetch(`${this.origin}/api/email/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) return null;
      const mail = (await res.json()) as { text?: string };
      return /\b(\d{6})\b/.exec(mail.text ?? '')?.[1];
    } catch {
      return null;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

export interface StatusEvent {
  status: string;
  attempt?: number;
  reason?: string;
  at: number;
}

/**
 * Follows registration.status-changed.v1 (or any topic keyed by registration id) from its current end,
 * as a partner system would, and lets callers wait for a registration's next status.
 */
export class StatusFollower {
  private tail: Tail | undefined;
  private readonly byId = new Map<string, StatusEvent[]>();
  private readonly waiters = new Map<string, Array<() => void>>();

  constructor(
    private readonly brokers: string[],
    private readonly topic: string,
    /** Turns an event's `data` into what to remember; default: its status, attempt and reason. */
    private readonly extract: (data: Json) => Omit<StatusEvent, 'at'> | undefined = (d) =>
      d?.status ? { status: d.status, ...(d.attempt ? { attempt: d.attempt } : {}), ...(d.reason ? { reason: d.reason } : {}) } : undefined,
  ) {}

  /** Everything remembered, by registration id. */
  get events(): ReadonlyMap<string, StatusEvent[]> {
    return this.byId;
  }

  async start(): Promise<this> {
    this.tail = await tailTopics(
      newKafka(this.brokers, 'loadtests-status'),
      [this.topic],
      (message) => {
        try {
          const e = JSON.parse(message.value) as { data?: { registrationId?: string } };
          const id = e.data?.registrationId;
          const seen = id ? this.extract(e.data) : undefined;
          if (!id || !seen) return;
          const list = this.byId.get(id) ?? [];
          list.push({ ...seen, at: Date.now() });
          this.byId.set(id, list);
          for (const w of this.waiters.get(id) ?? []) w();
        } catch {
          // not ours to judge: other producers share the topic
        }
      },
      { groupId: `loadtests-follow-${randomUUID()}` },
    );
    return this;
  }

  /** Waits for an event of `id` that `match` accepts (already seen ones count). */
  async waitFor(id: string, match: (e: StatusEvent) => boolean, timeoutMs: number): Promise<StatusEvent> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.byId.get(id)?.find(match);
      if (hit) return hit;
      const left = end - Date.now();
      if (left <= 0) throw new Error('status not seen');
      await new Promise<void>((resolve) => {
        const list = this.waiters.get(id) ?? [];
        const t = setTimeout(done, Math.min(left, 1_000));
        function done() {
          clearTimeout(t);
          resolve();
        }
        list.push(done);
        this.waiters.set(id, list);
      });
      this.waiters.delete(id);
    }
  }

  async stop(): Promise<void> {
    await this.tail?.stop();
  }
}

/** The most events inside any window of `windowMs` (sorted times in ms). */
export function maxInWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < t.length; hi++) {
    while ((t[hi] as number) - (t[lo] as number) >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}
