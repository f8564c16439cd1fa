/** The request body the simulator accepts: Stedi's eligibility v3 format, checked loosely as Stedi does. */
import { z } from 'zod';

const yyyymmdd = z.string().regex(/^\d{8}$/, 'must be YYYYMMDD');

/** Zod schema of a v3 eligibility request (unknown fields pass through, as at Stedi). */
export const simulatedRequestSchema = z
  .object({
    controlNumber: z
      .string()
      .regex(/^\d{9}$/, 'must be 9 digits')
      .optional(),
    submitterTransactionIdentifier: z.string().optional(),
    tradingPartnerServiceId: z.string().min(1, 'is required'),
    provider: z
      .object({
        organizationName: z.string().optional(),
        firstName: z.string().optional(),
        lastName: z.string().optional(),
        npi: z.string().regex(/^\d{10}$/, 'must be 10 digits'),
      })
      .passthrough(),
    subscriber: z
      .object({
        memberId: z.string().min(1).optional(),
        firstName: z.string().optional(),
        lastName: z.string().optional(),
        dateOfBirth: yyyymmdd.optional(),
      })
      .passthrough()
      .refine((s) => s.memberId !== undefined || (s.firstName && s.lastName && s.dateOfBirth), {
        message: 'needs memberId, or firstName, lastName and dateOfBirth',
      }),
    encounter: z
      .object({ serviceTypeCodes: z.array(z.string()).optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

/** A request the simulator accepted. */
export type SimulatedRequest = z.infer<typeof simulatedRequestSchema>;
