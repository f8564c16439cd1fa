/**
 * The plan of every simulated active member, written once for both response shapes so a v3 and a
 * 2026-06-01 answer describe the same coverage. Values are spelled as 2026-06-01 spells them; the
 * v3 responses map them to X12 codes.
 */

/** One cost-sharing benefit, given per requested service type. */
interface SimulatedCostShare {
  /** The 2026-06-01 array it goes in. */
  readonly type: 'coPayment' | 'coInsurance' | 'deductible' | 'outOfPocket';
  readonly network: 'IN_NETWORK' | 'OUT_OF_NETWORK';
  readonly amount?: string;
  readonly percent?: string;
  readonly timePeriod?: 'CALENDAR_YEAR' | 'REMAINING';
}

const costSharing: readonly SimulatedCostShare[] = [
  { type: 'coPayment', amount: '25', network: 'IN_NETWORK' },
  { type: 'coPayment', amount: '60', network: 'OUT_OF_NETWORK' },
  { type: 'coInsurance', percent: '0.2', network: 'IN_NETWORK' },
  { type: 'deductible', amount: '1500', timePeriod: 'CALENDAR_YEAR', network: 'IN_NETWORK' },
  { type: 'deductible', amount: '600', timePeriod: 'REMAINING', network: 'IN_NETWORK' },
  { type: 'outOfPocket', amount: '6000', timePeriod: 'CALENDAR_YEAR', network: 'IN_NETWORK' },
];

/** The simulated plan: name, dates (YYYY-MM-DD) and cost sharing, in answer order. */
export const simulatedPlan = {
  name: 'SIMULATED PPO',
  start: '2026-01-01',
  end: '2026-12-31',
  costSharing,
} as const;
