/*
 * Schema Registry's BACKWARD rule on JSON Schemas: a reader with the new schema must still accept
 * every event written under the old one. So a field may be added only as optional, an enum may only
 * grow, and nothing already accepted may be refused (removed, retyped, narrowed, made required).
 * Any change this does not recognise counts as breaking: a false alarm costs a look, a miss costs
 * every partner.
 */
import type { JsonSchema } from './event-docs';

export interface BreakingChange {
  path: string;
  what: string;
}

/** Keywords that only describe: changing them never refuses an event. */
const DESCRIPTIVE = new Set(['$schema', 'title', 'description', 'examples', 'x-gelombang-sealed']);

const asSet = (v: unknown): Set<string> => new Set(Array.isArray(v) ? v.map((x) => JSON.stringify(x)) : []);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What in `next` refuses events `prev` accepted (empty: `next` is a backward-compatible change of `prev`). */
export function breakingChanges(prev: JsonSchema, next: JsonSchema, path = '$'): BreakingChange[] {
  const out: BreakingChange[] = [];
  const flag = (what: string, at = path) => out.push({ path: at, what });
  const keys = new Set([...Object.keys(prev), ...Object.keys(next)]);
  for (const key of keys) {
    if (DESCRIPTIVE.has(key)) continue;
    const [a, b] = [prev[key], next[key]];
    switch (key) {
      case 'properties': {
        const [pa, pb] = [(a ?? {}) as Record<string, JsonSchema>, (b ?? {}) as Record<string, JsonSchema>];
        for (const [name, schema] of Object.entries(pa)) {
          const at = `${path}.${name}`;
          if (!(name in pb)) flag('field removed', at);
          else out.push(...breakingChanges(schema, pb[name]!, at));
        }
        break;
      }
      case 'required': {
        const was = asSet(a);
        for (const r of asSet(b)) if (!was.has(r)) flag(`${JSON.parse(r)} is now required (a new field must be optional)`, `${path}.${JSON.parse(r)}`);
        break;
      }
      case 'enum': {
        if (b === undefined) break;
        if (a === undefined) {
          flag('now restricted to an enum');
          break;
        }
        const now = asSet(b);
        for (const v of asSet(a)) if (!now.has(v)) flag(`enum value ${v} removed`);
        break;
      }
      case 'type':
        if (b !== undefined && !same(a, b) && !(a === 'integer' && b === 'number')) flag(`type ${JSON.stringify(a)} became ${JSON.stringify(b)}`);
        break;
      case 'items':
        if (a && b) out.push(...breakingChanges(a as JsonSchema, b as JsonSchema, `${path}[]`));
        else if (b) flag('items now constrained');
        break;
      case 'additionalProperties':
        if (b === false && a !== false) flag('unknown fields now refused');
        break;
      case 'minLength':
      case 'minimum':
      case 'exclusiveMinimum':
      case 'minItems':
        if (b !== undefined && (a === undefined || (b as number) > (a as number))) flag(`${key} raised to ${String(b)}`);
        break;
      case 'maxLength':
      case 'maximum':
      case 'exclusiveMaximum':
      case 'maxItems':
        if (b !== undefined && (a === undefined || (b as number) < (a as number))) flag(`${key} lowered to ${String(b)}`);
        break;
      default:
        // const, pattern, format, anyOf… : loosening one of these needs a human; only "unchanged" or "removed" pass.
        if (b !== undefined && !same(a, b)) flag(`${key} changed`);
    }
  }
  return out;
}
