/** A batch as defined by operators. Immutable once created (a different definition is a 409). */
export interface BatchDefinition {
  batchId: string;
  name: string;
  quota: number;
  opensAt: Date;
  closesAt: Date;
}

export type BatchPhase = 'scheduled' | 'open' | 'closed';

/** The enrollment window is half-open, [opensAt, closesAt): at closesAt the batch is closed. */
export function phaseAt(def: Pick<BatchDefinition, 'opensAt' | 'closesAt'>, now: Date): BatchPhase {
  if (now.getTime() < def.opensAt.getTime()) return 'scheduled';
  if (now.getTime() >= def.closesAt.getTime()) return 'closed';
  return 'open';
}

/** Same definition = same name, quota and instants (the offset a client wrote them in does not matter). */
export function sameDefinition(a: BatchDefinition, b: BatchDefinition): boolean {
  return (
    a.batchId === b.batchId &&
    a.name === b.name &&
    a.quota === b.quota &&
    a.opensAt.getTime() === b.opensAt.getTime() &&
    a.closesAt.getTime() === b.closesAt.getTime()
  );
}
