/**
 * What a person can do about a payer's AAA rejection code (X12 271 AAA03), in the words a front
 * desk uses. The payer's own follow-up action (AAA04) is kept beside it.
 */

const advice: Readonly<Record<string, string>> = {
  '15': 'The payer needs information the check did not carry: add it and check again.',
  '41': 'The payer does not let this provider ask: check the provider is enrolled with the payer.',
  '42': 'The payer cannot answer right now: check again in a few minutes.',
  '43': "Check the provider's NPI and name; the provider may need to enroll with this payer.",
  '44': "Check the provider's name as the payer has it.",
  '45': "Check the provider's specialty.",
  '47': "Check the provider's state.",
  '48': 'Check the referring provider.',
  '50': 'The provider may not ask this payer: check enrollment.',
  '51': 'The payer has no record of this provider: check the NPI, or enroll with the payer.',
  '52': "The dates of service fall outside the provider's enrollment with the plan.",
  '56': 'Check the date of service.',
  '57': 'Check the dates of service.',
  '58': 'Check the date of birth.',
  '60': 'Check the date of birth.',
  '61': 'Check the date of birth and the date of service.',
  '62': 'The payer has a date of death before the date of service.',
  '63': 'The date of service is outside what the payer answers for: try a date closer to today.',
  '64': "Check the patient's member id (a dependent may have their own).",
  '65': "Check the patient's name as it is on the card.",
  '66': "Check the patient's gender.",
  '67': 'The payer did not find the patient: check name, date of birth and member id.',
  '68': 'The payer found more than one patient: add the date of birth or member id.',
  '71': "The date of birth does not match the payer's records: check it.",
  '72': 'Check the member id on the card (prefix and suffix included).',
  '73': "Check the subscriber's name as it is on the card.",
  '74': "Check the subscriber's gender.",
  '75': 'The payer did not find the subscriber: check member id, name and date of birth, or the payer.',
  '76': 'The payer found more than one subscriber: add the date of birth.',
  '78': 'The subscriber is not in the group or plan named: check the group number.',
  '79': 'The payer id or the connection to the payer is wrong: check the payer, then try again later.',
  '80': 'The payer did not answer: check again later.',
};

/** What to do about AAA `code`. */
export function aaaAdvice(code: string): string {
  return advice[code] ?? "Follow the payer's follow-up action.";
}
