/** A sealed record could not be opened: unknown key id, or it was altered. */
export class DecryptionError extends Error {
  override readonly name = 'DecryptionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
