import { emptyOutcomes, leadInBreaches, measuredRefusals, type LeadIn } from '../src/registration-load';

const lead = (over: Partial<LeadIn>): LeadIn => ({
  ratePerSec: 200,
  durationSec: 5,
  scheduled: 1000,
  accepted: 1000,
  failed: 0,
  p99Ms: 12,
  refusalCodes: {},
  ...over,
});

describe('the lead-in before a measured run', () => {
  it('fails the run when any lead-in request was not accepted, and not otherwise', () => {
    expect(leadInBreaches(undefined)).toEqual([]);
    expect(leadInBreaches(lead({}))).toEqual([]);
    expect(leadInBreaches(lead({ accepted: 997, failed: 3 }))).toEqual(['lead-in: 3 of 1000 requests not accepted (202)']);
  });

  it("keeps the lead-in's refusals out of the measured run's", () => {
    const outcomes = emptyOutcomes();
    outcomes.refusalCodes = { RATE_LIMITED: 5, INTAKE_NIK_ALREADY_REGISTERED: 1 };
    expect(measuredRefusals(outcomes, lead({ refusalCodes: { RATE_LIMITED: 2, INTAKE_NIK_ALREADY_REGISTERED: 1 } }))).toEqual({ RATE_LIMITED: 3 });
    expect(measuredRefusals(outcomes, undefined)).toEqual({ RATE_LIMITED: 5, INTAKE_NIK_ALREADY_REGISTERED: 1 });
  });
});
