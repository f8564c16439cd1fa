/**
 * Stedi's published mock requests (fixtures/mock-requests.json) and their documented outcomes.
 * With a test key Stedi answers only these, matched on payer and subscriber values exactly.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const mockSchema = z.object({
  id: z.string(),
  category: z.string(),
  payerName: z.string(),
  expected: z.string(),
  request: z
    .object({
      tradingPartnerServiceId: z.string(),
      subscriber: z.record(z.string(), z.string()),
    })
    .passthrough(),
});

/** One mock request with its documented outcome. */
export type MockRequest = z.infer<typeof mockSchema>;

/** What a mock (or a simulated member) is documented to return. */
export type Outcome =
  | { readonly kind: 'active' }
  | { readonly kind: 'inactive' }
  | { readonly kind: 'aaa'; readonly code: string; readonly description: string };

const aaaDescriptions: Record<string, string> = {
  '42': 'Unable to Respond at Current Time',
  '43': 'Invalid/Missing Provider Identification',
  '72': 'Invalid/Missing Subscriber/Insured ID',
  '73': 'Invalid/Missing Subscriber/Insured Name',
  '75': 'Subscriber/Insured Not Found',
  '79': 'Invalid Participant Identification',
  '80': 'No Response received - Transaction Terminated',
};

/** The description Stedi gives an AAA code. */
export function aaaDescription(code: string): string {
  return aaaDescriptions[code] ?? 'Payer rejected the request';
}

/** Reads the expected-outcome text of a mock ("active", "inactive", "AAA 42 ..."). */
export function outcomeOf(mock: MockRequest): Outcome {
  if (mock.expected === 'inactive') return { kind: 'inactive' };
  const aaa = /^AAA (\d{2})/.exec(mock.expected);
  if (aaa?.[1]) return { kind: 'aaa', code: aaa[1], description: aaaDescription(aaa[1]) };
  return { kind: 'active' };
}

/** Loads the mock catalog from the project's fixture. */
export function loadMockCatalog(): MockRequest[] {
  const raw = JSON.parse(
    readFileSync(new URL('./fixtures/mock-requests.json', import.meta.url), 'utf8'),
  ) as {
    mocks: unknown;
  };
  return z.array(mockSchema).parse(raw.mocks);
}

/** The mock a request matches: same payer, and every subscriber value of the mock equal. */
export function findMock(
  catalog: readonly MockRequest[],
  payerId: string,
  subscriber: Readonly<Record<string, unknown>>,
): MockRequest | undefined {
  return catalog.find(
    (m) =>
      m.request.tradingPartnerServiceId === payerId &&
      Object.entries(m.request.subscriber).every(([k, v]) => subscriber[k] === v),
  );
}
