import { rmSync } from 'node:fs';
import { join } from 'node:path';

/** Jest globalSetup of the chaos suite: each run's table holds only its own reports. */
export default function chaosSetup(): void {
  rmSync(process.env.CHAOS_RESULTS ?? join(__dirname, '..', '..', '.run', 'chaos', 'results.jsonl'), { force: true });
}
