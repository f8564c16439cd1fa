/**
 * Settings the Stedi clients would only trip over at their first call are refused at start-up,
 * naming the variable: a base URL that is not http(s), an API key that cannot be an HTTP header.
 */
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config.js';
import { ConfigError } from '../../src/shared/errors/config-error.js';

const problems = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

it('refuses Stedi base URLs that are not http(s), naming the variable', () => {
  expect(problems({ STEDI_BASE_URL: 'ftp://stedi.example' })).toEqual([
    'STEDI_BASE_URL: must be an http:// or https:// URL',
  ]);
  expect(problems({ STEDI_BATCH_BASE_URL: 'file:///tmp/x' })).toEqual([
    'STEDI_BATCH_BASE_URL: must be an http:// or https:// URL',
  ]);
  expect(problems({ STEDI_BASE_URL: 'http://127.0.0.1:4010' })).toEqual([]);
  expect(problems({ STEDI_BASE_URL: 'https://h.example:8443/base/path' })).toEqual([]);
  // No scheme at all: named as an invalid URL, not a TypeError from the protocol check.
  expect(problems({ STEDI_BASE_URL: 'healthcare.us.stedi.com' })).toEqual([
    'STEDI_BASE_URL: Invalid URL',
  ]);
});

it('refuses an API key with a control character or a space inside (but "Key <key>"), and trims its edges', () => {
  expect(problems({ STEDI_API_KEY: 'abc\u0001def' })).toEqual([
    'STEDI_API_KEY: must be printable ASCII with no spaces (it is sent as an HTTP header)',
  ]);
  expect(problems({ STEDI_API_KEY: 'abc def' })).toHaveLength(1);
  // Stedi's older header form, still accepted by Stedi, is sent as it is.
  expect(problems({ STEDI_API_KEY: 'Key test_abc.123' })).toEqual([]);
  expect(loadConfig({ STEDI_API_KEY: ' dev-key\n' }).STEDI_API_KEY).toBe('dev-key');
});
