/** No answer came back from Stedi (network error, reset or our timeout past Stedi's bound). */
export class StediTransportError extends Error {
  override readonly name = 'StediTransportError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
