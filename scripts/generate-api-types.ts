/** Writes test/support/api-types.ts from the OpenAPI document (see test/support/api-types-source.ts). */
import { writeFile } from 'node:fs/promises';
import { apiTypesPath, generateApiTypes } from '../test/support/api-types-source.js';

await writeFile(apiTypesPath, await generateApiTypes());
